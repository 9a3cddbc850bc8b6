//! The admin API: JSON under `{issuer-path}/admin/api/v1`, authenticated
//! by access tokens authgate itself issues for its built-in admin resource
//! (scope `authgate:admin`). [`ROUTES`] is the one list of routes: the
//! router is built from it, and a test checks the OpenAPI document
//! describes exactly these.

mod auth;
mod connections;
pub mod doc;
mod failure;
mod handlers;
mod json;
mod orgs;

pub use auth::Caller;

use crate::state::SharedState;
use authgate_authority::builtin::API_PREFIX;
use axum::Router;
use axum::http::header;
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

type MakeRoute = fn() -> MethodRouter<SharedState>;

/// Every admin API route: (method, path under the API prefix, handler).
pub const ROUTES: &[(&str, &str, MakeRoute)] = &[
    ("GET", "/resources", || get(handlers::list_resources)),
    ("POST", "/resources", || post(handlers::create_resource)),
    ("GET", "/resources/{id}", || get(handlers::get_resource)),
    ("PUT", "/resources/{id}", || put(handlers::update_resource)),
    ("DELETE", "/resources/{id}", || {
        delete(handlers::delete_resource)
    }),
    ("GET", "/resources/{id}/metadata", || {
        get(handlers::resource_metadata)
    }),
    ("POST", "/resources/{id}/check", || {
        post(handlers::check_resource)
    }),
    ("GET", "/clients", || get(handlers::list_clients)),
    ("POST", "/clients", || post(handlers::create_client)),
    ("GET", "/clients/{client_id}", || get(handlers::get_client)),
    ("DELETE", "/clients/{client_id}", || {
        delete(handlers::delete_client)
    }),
    ("POST", "/clients/{client_id}/secret", || {
        post(handlers::rotate_client_secret)
    }),
    ("POST", "/clients/{client_id}/block", || {
        post(handlers::block_client)
    }),
    ("POST", "/clients/{client_id}/unblock", || {
        post(handlers::unblock_client)
    }),
    ("GET", "/users", || get(handlers::list_users)),
    ("POST", "/users", || post(handlers::create_user)),
    ("GET", "/users/{id}", || get(handlers::get_user)),
    ("POST", "/invitations", || post(handlers::create_invitation)),
    ("PATCH", "/users/{id}", || patch(handlers::update_user)),
    ("DELETE", "/users/{id}", || delete(handlers::delete_user)),
    ("POST", "/users/{id}/role", || post(handlers::set_user_role)),
    ("POST", "/users/{id}/sign-out", || {
        post(handlers::sign_out_user)
    }),
    ("POST", "/users/{id}/mfa-reset", || {
        post(handlers::reset_user_mfa)
    }),
    ("POST", "/users/{id}/verify-email", || {
        post(handlers::verify_user_email)
    }),
    ("POST", "/users/{id}/disable", || {
        post(handlers::disable_user)
    }),
    ("POST", "/users/{id}/enable", || post(handlers::enable_user)),
    ("POST", "/users/{id}/password-link", || {
        post(handlers::password_link)
    }),
    ("GET", "/users/{id}/grants", || get(handlers::user_grants)),
    ("POST", "/users/{id}/grants/revoke", || {
        post(handlers::revoke_user_grant)
    }),
    ("GET", "/connections", || get(connections::list_connections)),
    ("POST", "/connections", || {
        post(connections::create_connection)
    }),
    ("GET", "/connections/{id}", || {
        get(connections::get_connection)
    }),
    ("PUT", "/connections/{id}", || {
        put(connections::update_connection)
    }),
    ("DELETE", "/connections/{id}", || {
        delete(connections::delete_connection)
    }),
    ("POST", "/connections/{id}/disable", || {
        post(connections::disable_connection)
    }),
    ("POST", "/connections/{id}/enable", || {
        post(connections::enable_connection)
    }),
    ("GET", "/orgs", || get(orgs::list_orgs)),
    ("POST", "/orgs", || post(orgs::create_org)),
    ("GET", "/orgs/{id}", || get(orgs::get_org)),
    ("PUT", "/orgs/{id}", || put(orgs::update_org)),
    ("DELETE", "/orgs/{id}", || delete(orgs::delete_org)),
    ("POST", "/orgs/{id}/disable", || post(orgs::disable_org)),
    ("POST", "/orgs/{id}/enable", || post(orgs::enable_org)),
    ("POST", "/orgs/{id}/domains", || post(orgs::add_domain)),
    ("DELETE", "/orgs/{id}/domains/{domain}", || {
        delete(orgs::remove_domain)
    }),
    ("POST", "/orgs/{id}/domains/{domain}/verify", || {
        post(orgs::verify_domain)
    }),
    ("POST", "/orgs/{id}/domains/{domain}/mark-verified", || {
        post(orgs::mark_domain_verified)
    }),
    ("POST", "/orgs/{id}/connections", || {
        post(orgs::add_connection)
    }),
    ("DELETE", "/orgs/{id}/connections/{connection_id}", || {
        delete(orgs::remove_connection)
    }),
    ("GET", "/resources/{id}/scope-rules", || {
        get(orgs::list_scope_rules)
    }),
    ("PUT", "/resources/{id}/scope-rules/{scope}", || {
        put(orgs::set_scope_rule)
    }),
    ("GET", "/keys", || get(handlers::list_keys)),
    ("POST", "/keys/rotate", || post(handlers::rotate_key)),
    ("POST", "/keys/{kid}/retire", || post(handlers::retire_key)),
    ("GET", "/audit", || get(handlers::audit)),
];

/// The OpenAPI document's path (not in [`ROUTES`]: it needs no token).
pub const OPENAPI_PATH: &str = "/openapi.json";

pub fn router(base: &str) -> Router<SharedState> {
    let mut r = Router::new();
    for (_, path, make) in ROUTES {
        r = r.route(&format!("{base}{API_PREFIX}{path}"), make());
    }
    r.route(
        &format!("{base}{API_PREFIX}{OPENAPI_PATH}"),
        get(doc::openapi_json),
    )
    .route(
        &format!("/.well-known/oauth-protected-resource{base}{API_PREFIX}"),
        get(handlers::protected_resource_metadata),
    )
    .layer(axum::middleware::map_response(no_store))
}

async fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        crate::http::cache::forbid_caching(h);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique() {
        for (i, (m, p, _)) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i].iter().any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} twice"
            );
        }
    }
}
