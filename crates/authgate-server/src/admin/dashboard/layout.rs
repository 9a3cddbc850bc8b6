//! What every dashboard page has: the layout's context (navigation, form
//! token), the signed-in administrator, the dashboard's security headers,
//! and the pages for failures.

use crate::pages::page::{self, PageCtx};
use crate::state::AppState;
use askama::Template;
use authgate_authority::manage::{Actor, AdminError, roles};
use authgate_core::model::{Session, User};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// What every dashboard page shows: the layout's navigation and the form token.
pub struct AdminCtx {
    pub page: PageCtx,
    pub csrf: String,
    pub user_email: String,
    pub section: &'static str,
    /// The viewer's role may change things (an auditor's may not: pages
    /// leave their forms out).
    pub can_write: bool,
    /// The viewer's role, as people read it.
    pub role: &'static str,
}

/// A signed-in administrator or auditor.
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
            can_write: roles::may(self.user.role, roles::Access::Write),
            role: roles::label(self.user.role),
        }
    }
}

pub fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard failure");
    page::error_page(
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
    let mut resp = page::render(state, status, t);
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
        AdminError::NotFound(m) => page::error_page(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            &m,
            "Go back to the list and try again.",
        ),
        AdminError::Forbidden(m) => page::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            &m,
            "Ask an administrator if this needs doing.",
        ),
        AdminError::Store(_) | AdminError::Internal(_) => failure(state, e),
        other => page::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "That did not work",
            &other.message(),
            "Go back, correct it and try again.",
        ),
    }
}
