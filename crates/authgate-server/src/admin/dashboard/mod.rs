//! The admin dashboard: server-rendered pages for signed-in administrators,
//! with the sign-in pages' look and rules (CSRF token of the session on
//! every form, security headers on every page, no inline script or style).
//! Not signed in: to the sign-in page and back. Signed in without
//! `is_admin`: 403. Handlers get the administrator from extractors:
//! [`AdminPage`] for pages, [`Submitted`] for forms (CSRF checked), and
//! [`Reauthenticated`] for sensitive forms (password asked again).

mod admin_page;
mod audit;
mod clients;
mod form;
mod keys;
mod reauth;
mod servers;
mod users;

pub use admin_page::{AdminPage, Home, ReturnTo, ThisPage};
pub use form::{Submitted, unreadable_form};
pub use reauth::{Reauthenticated, SensitiveAction};

use crate::app::{AppState, SharedState};
use crate::pages::{self, PageCtx};
use askama::Template;
use authgate_authority::manage::{Actor, AdminError};
use authgate_core::model::{Session, User};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub fn router(base: &str) -> Router<SharedState> {
    let at = |p: &str| format!("{base}/admin{p}");
    Router::new()
        .route(&at(""), get(servers::list))
        .route(&at("/"), get(servers::list))
        .route(&at("/assets/admin.css"), get(stylesheet))
        .route(&at("/assets/admin.js"), get(script))
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
        .route(&at("/clients/secret"), post(clients::rotate))
        .route(&at("/clients/block"), post(clients::block))
        .route(&at("/clients/unblock"), post(clients::unblock))
        .route(
            &at("/clients/delete"),
            get(clients::delete_confirm).post(clients::delete),
        )
        .route(&at("/users"), get(users::list).post(users::create))
        .route(&at("/users/{id}"), get(users::detail))
        .route(&at("/users/{id}/disable"), post(users::disable))
        .route(&at("/users/{id}/enable"), post(users::enable))
        .route(&at("/users/{id}/password-link"), post(users::password_link))
        .route(&at("/users/{id}/revoke"), post(users::revoke))
        .route(&at("/keys"), get(keys::list))
        .route(&at("/keys/rotate"), post(keys::rotate))
        .route(&at("/keys/retire"), post(keys::retire))
        .route(&at("/audit"), get(audit::list))
}

const CSS: &str = include_str!("../../../assets/admin.css");
const JS: &str = include_str!("../../../assets/admin.js");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

/// Where `/login` sends an administrator back to (set when the dashboard
/// sent them to sign in). Only dashboard paths on this server.
pub fn after_login(state: &AppState, s: &Session) -> Option<String> {
    let to = s.data.get("after_login")?.as_str()?;
    let prefix = format!("{}/admin", state.settings.issuer_path());
    let ok = to.starts_with(&prefix)
        && !to.contains("//")
        && !to.contains('\\')
        && to.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| to.to_owned())
}

/// What every dashboard page shows: the layout's navigation and the form token.
pub struct AdminCtx {
    pub page: PageCtx,
    pub csrf: String,
    pub user_email: String,
    pub section: &'static str,
}

/// A signed-in administrator.
pub struct AdminSession {
    pub session: Session,
    pub user: User,
    pub actor: Actor,
}

impl AdminSession {
    pub fn ctx(&self, state: &AppState, section: &'static str) -> AdminCtx {
        AdminCtx {
            page: PageCtx::new(state),
            csrf: self.session.csrf_token.clone(),
            user_email: self.user.email.clone(),
            section,
        }
    }
}

pub fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard failure");
    pages::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
        "Try again in a moment.",
    )
}

/// Renders a dashboard page: the pages' security headers, plus our own
/// script (the copy buttons) and form targets limited to this server.
pub fn render(state: &AppState, status: StatusCode, t: &impl Template) -> Response {
    let mut resp = pages::render(state, status, t);
    let csp = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("{v}; script-src 'self'; form-action 'self'"));
    if let Some(v) = csp.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// The admin shown on an [`AdminError`]: a readable page.
pub fn error(state: &AppState, e: AdminError) -> Response {
    match e {
        AdminError::NotFound(m) => pages::error_page(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            &m,
            "Go back to the list and try again.",
        ),
        AdminError::Store(_) | AdminError::Internal(_) => failure(state, e),
        other => pages::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "That did not work",
            &other.message(),
            "Go back, correct it and try again.",
        ),
    }
}

/// UTC date and time for tables.
pub fn when(t: Option<i64>) -> String {
    crate::cli::output::time(t)
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Seconds as a short duration ("15 min", "14 days").
pub fn duration(secs: i64) -> String {
    match secs {
        s if s % 86400 == 0 && s >= 86400 => {
            format!("{} day{}", s / 86400, if s == 86400 { "" } else { "s" })
        }
        s if s % 3600 == 0 && s >= 3600 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
