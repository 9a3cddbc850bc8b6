//! The admin dashboard: server-rendered pages for signed-in administrators,
//! with the sign-in pages' look and rules (CSRF token of the session on
//! every form, security headers on every page, no inline script or style).
//! Not signed in: to the sign-in page and back. Administrators and
//! auditors see the pages; only administrators post forms (the roles'
//! rules are `manage::roles`); anyone else: 403. Handlers get the administrator from extractors:
//! [`AdminPage`] for pages, [`Submitted`] for forms (CSRF checked), and
//! [`Reauthenticated`] for sensitive forms (password asked again).

mod admin_page;
mod api_reference;
mod assets;
mod audit;
mod client_detail;
mod client_list;
mod clients;
mod connections;
mod display;
mod form;
mod home;
mod keys;
mod layout;
mod orgs;
mod outcome;
mod people;
mod reauth;
mod servers;
mod users;

pub use admin_page::{AdminPage, Home, ReturnTo, ThisPage};
pub use form::{Submitted, unreadable_form};
pub use reauth::{Reauthenticated, SensitiveAction};

use crate::state::SharedState;
use axum::Router;
use axum::routing::{get, post};

pub fn router(base: &str) -> Router<SharedState> {
    let at = |p: &str| format!("{base}/admin{p}");
    Router::new()
        .route(&at(""), get(home::show))
        .route(&at("/"), get(home::show))
        .route(
            &at("/deployment/kek-backup"),
            post(home::confirm_kek_backup),
        )
        .route(&at("/api-reference"), get(api_reference::show))
        .route(&at("/assets/admin.css"), get(assets::stylesheet))
        .route(&at("/assets/admin.js"), get(assets::script))
        .route(&at("/servers"), get(servers::list).post(servers::create))
        .route(&at("/servers/new"), get(servers::new_form))
        .route(&at("/servers/{id}"), get(servers::detail))
        .route(
            &at("/servers/{id}/edit"),
            get(servers::edit_form).post(servers::update),
        )
        .route(
            &at("/servers/{id}/delete"),
            get(servers::delete_confirm).post(servers::delete),
        )
        .route(&at("/servers/{id}/check"), post(servers::check))
        .route(&at("/clients"), get(clients::list).post(clients::create))
        .route(&at("/clients/view"), get(client_detail::detail))
        .route(&at("/clients/secret"), post(clients::rotate))
        .route(&at("/clients/block"), post(clients::block))
        .route(&at("/clients/unblock"), post(clients::unblock))
        .route(
            &at("/clients/delete"),
            get(clients::delete_confirm).post(clients::delete),
        )
        .route(&at("/users"), get(users::list).post(users::create))
        .route(&at("/users/invite"), post(users::invite))
        .route(&at("/users/{id}"), get(users::detail))
        .route(&at("/users/{id}/disable"), post(users::disable))
        .route(&at("/users/{id}/enable"), post(users::enable))
        .route(&at("/users/{id}/edit"), post(users::edit))
        .route(&at("/users/{id}/role"), post(users::set_role))
        .route(&at("/users/{id}/delete"), post(users::delete))
        .route(&at("/users/{id}/sign-out"), post(users::sign_out))
        .route(&at("/users/{id}/password-link"), post(users::password_link))
        .route(&at("/users/{id}/revoke"), post(users::revoke))
        .route(
            &at("/connections"),
            get(connections::list).post(connections::create),
        )
        .route(&at("/connections/{id}"), get(connections::detail))
        .route(&at("/connections/{id}/edit"), post(connections::edit))
        .route(&at("/connections/{id}/disable"), post(connections::disable))
        .route(&at("/connections/{id}/enable"), post(connections::enable))
        .route(&at("/connections/{id}/delete"), post(connections::delete))
        .route(&at("/orgs"), get(orgs::list).post(orgs::create))
        .route(&at("/orgs/{id}"), get(orgs::detail))
        .route(&at("/orgs/{id}/edit"), post(orgs::edit))
        .route(&at("/orgs/{id}/domains"), post(orgs::add_domain))
        .route(&at("/orgs/{id}/domains/verify"), post(orgs::verify_domain))
        .route(
            &at("/orgs/{id}/domains/mark-verified"),
            post(orgs::mark_domain_verified),
        )
        .route(&at("/orgs/{id}/domains/remove"), post(orgs::remove_domain))
        .route(&at("/orgs/{id}/disable"), post(orgs::disable))
        .route(&at("/orgs/{id}/enable"), post(orgs::enable))
        .route(&at("/orgs/{id}/delete"), post(orgs::delete))
        .route(&at("/keys"), get(keys::list))
        .route(&at("/keys/rotate"), post(keys::rotate))
        .route(&at("/keys/retire"), post(keys::retire))
        .route(&at("/audit"), get(audit::list))
}
