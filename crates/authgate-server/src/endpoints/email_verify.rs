//! The email verification link (`/email/verify?token=…`): single use, 24
//! hours, stored hashed (`setup_links`), bound to the person and to the
//! address it was sent to. Opening it shows a button; only the POST uses
//! it, so a mail scanner that fetches links does not spend it. Self
//! sign-up will send the same link (`mail::send_verification`).

use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::setup_links::{Purpose, peek, take};
use authgate_core::model::User;
use authgate_core::token_request::Params;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "email_verify.html")]
struct VerifyPage {
    page: PageCtx,
    csrf: String,
    token: String,
    email: String,
    done: bool,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the email verification page");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        msg("Something went wrong"),
        msg("The server could not complete the request."),
        msg("Try again in a moment."),
    )
}

fn dead_link(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::NOT_FOUND,
        msg("This link does not work"),
        msg("The link is unknown, was already used, or has expired."),
        msg("Ask for a new link on your account page."),
    )
}

/// The person the link is for, when it still names their address.
async fn link_user(
    state: &AppState,
    data: &Value,
) -> Result<Option<User>, authgate_store::StoreError> {
    let (Some(id), Some(email)) = (
        data.get("user_id").and_then(Value::as_str),
        data.get("email").and_then(Value::as_str),
    ) else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_user(id)
        .await?
        .filter(|u| !u.disabled && u.email == email))
}

pub async fn verify_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    let user = match peek(&state, &token, Purpose::EmailVerification).await {
        Ok(Some(d)) => match link_user(&state, &d).await {
            Ok(Some(u)) => u,
            Ok(None) => return dead_link(&state),
            Err(e) => return failure(&state, e),
        },
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = page::render(
        &state,
        StatusCode::OK,
        &VerifyPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            token,
            email: user.email,
            done: false,
        },
    );
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

pub async fn verify_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return page::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            msg("Request refused"),
            msg("The form could not be read."),
            msg("Reload the page and try again."),
        );
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (token, csrf) = (field("token"), field("csrf"));
    let sess = match crate::endpoints::login::signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let data = match take(&state, &token, Purpose::EmailVerification).await {
        Ok(Some(d)) => d,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    let mut user = match link_user(&state, &data).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    if !user.email_verified {
        user.email_verified = true;
        if let Err(e) = state.store.update_user(&user).await {
            return failure(&state, e);
        }
    }
    authgate_authority::audit::audit_detail(
        &state,
        "user.email_verified",
        Some(&user.id),
        None,
        None,
        None,
        "ok",
        json!({"email": user.email}),
    );
    page::render(
        &state,
        StatusCode::OK,
        &VerifyPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            token: String::new(),
            email: user.email,
            done: true,
        },
    )
}
