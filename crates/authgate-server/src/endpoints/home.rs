//! `/`: somewhere useful. An administrator or auditor to the dashboard, a
//! signed-in person to their account page, anyone else to sign in.

use crate::pages::page;
use crate::pages::session;
use crate::state::SharedState;
use authgate_authority::manage::roles;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub async fn home(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let base = state.settings.issuer_path();
    let user_id = match session::load(&state, &headers).await {
        Ok(loaded) => loaded.and_then(|(s, _)| session::signed_in_user(&s).map(str::to_owned)),
        Err(e) => {
            tracing::error!(error = %e, "session read failed on /");
            return page::error_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not read your session.",
                "Try again in a moment.",
            );
        }
    };
    let user = match user_id {
        None => None,
        Some(id) => match state.store.get_user(&id).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => {
                tracing::error!(error = %e, "user read failed on /");
                None
            }
        },
    };
    let to = match user {
        Some(u) if roles::sees_dashboard(u.role) => "/admin",
        Some(_) => "/account",
        None => "/login",
    };
    page::see_other(&format!("{base}{to}"))
}
