//! A submitted dashboard form, as an extractor ([`Submitted`]): the
//! administrator, whose role may write (not signed in: to the sign-in page and back to the
//! dashboard's home), the form's fields, and the session's CSRF token
//! checked. Handlers receive it or never run.

use super::admin_page::require_admin;
use super::layout::AdminSession;
use crate::http::form::FormPairs;
use crate::pages::page;
use crate::pages::session;
use crate::state::{AppState, SharedState};
use authgate_authority::manage::roles::Access;
use authgate_core::token_request::Params;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;

/// A submitted dashboard form: its fields, after the admin and CSRF checks.
/// Extract it last: it reads the body.
pub struct Submitted {
    pub admin: AdminSession,
    pub pairs: Vec<(String, String)>,
}

impl Submitted {
    pub fn get(&self, k: &str) -> String {
        Params::new(&self.pairs)
            .single(k)
            .ok()
            .flatten()
            .unwrap_or("")
            .to_owned()
    }
    /// Every value of a repeated field, empty ones included (so that the
    /// columns of a table of inputs stay aligned).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn checked(&self, k: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == k)
    }
}

/// The page for a form body that is not a readable form.
pub fn unreadable_form(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        "Request refused",
        "The form could not be read.",
        "Go back and try again.",
    )
}

impl FromRequest<SharedState> for Submitted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        // Signed out: sign-in comes back with a GET, which cannot repeat
        // the post, so to the dashboard's home.
        let home = format!("{}/admin", state.settings.issuer_path());
        // A form changes something: administrators only (an auditor
        // reads the pages but every post is refused, 403).
        let admin = require_admin(state, &mut parts, &home, Access::Write).await?;
        let form = FormPairs::from_request(Request::from_parts(parts, body), state).await;
        let Ok(FormPairs(pairs)) = form else {
            return Err(unreadable_form(state));
        };
        let csrf = Params::new(&pairs)
            .single("csrf")
            .ok()
            .flatten()
            .map(str::to_owned);
        if !session::csrf_ok(&admin.session, csrf.as_deref()) {
            return Err(page::error_page(
                state,
                StatusCode::FORBIDDEN,
                "Request refused",
                "The form did not come from this page (CSRF check failed).",
                "Reload the page and try again.",
            ));
        }
        Ok(Submitted { admin, pairs })
    }
}
