//! "Forgot your password?": a person types their email and, when it has
//! an account that signs in with a password, gets a single-use link (30
//! minutes, bound to them, stored hashed: `setup_links`) to the
//! new-password form (`admin::setup`, which ends every session and grant
//! and mails a notice on use).
//!
//! The answer is the same page whether or not the account exists, and
//! takes the same time: the look-up and the mail happen after the answer,
//! in a task of their own. Requests are throttled per address typed and
//! per client address (`throttle::RequestThrottle`); a throttled request
//! gets the same answer too, and sends nothing.

use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::setup_links::{self, Purpose};
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    page: PageCtx,
    csrf: String,
    email: String,
    /// The request was taken: "check your mail".
    sent: bool,
    error: Option<&'static str>,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the forgotten password page");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        msg("Something went wrong"),
        msg("The server could not complete the request."),
        msg("Try again in a moment."),
    )
}

pub async fn forgot_page(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = page::render(
        &state,
        StatusCode::OK,
        &ForgotPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            email: String::new(),
            sent: false,
            error: None,
        },
    );
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

pub async fn forgot_submit(
    State(state): State<SharedState>,
    client: ClientAddress,
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
    let (email, csrf) = (field("email").trim().to_lowercase(), field("csrf"));
    let sess = match crate::endpoints::login::signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if !authgate_authority::manage::valid_email(&email) {
        return page::render(
            &state,
            StatusCode::BAD_REQUEST,
            &ForgotPage {
                page: PageCtx::new(&state),
                csrf: sess.csrf_token,
                email,
                sent: false,
                error: Some(msg("Enter a valid email address.")),
            },
        );
    }
    let now = state.clock.now();
    if state.reset_throttle.allow(&email, client.key(), now) {
        // After the answer, whatever the outcome: the time to answer
        // tells nothing about the account.
        let locale = crate::mail::request_locale();
        let (state, addr) = (state.clone(), client.0.to_string());
        tokio::spawn(async move {
            if let Err(e) = mail_reset_link(&state, &email, locale, &addr).await {
                tracing::error!(error = %e, "could not queue a password reset link");
            }
        });
    } else {
        tracing::warn!(address = %client.0, "password reset requests throttled");
        authgate_authority::audit::audit_detail(
            &state,
            "user.password_reset.throttled",
            None,
            None,
            None,
            Some(&client.0.to_string()),
            "refused",
            json!({}),
        );
    }
    page::render(
        &state,
        StatusCode::OK,
        &ForgotPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            email: String::new(),
            sent: true,
            error: None,
        },
    )
}

/// Mails the link when `email` is an active account; audits the request
/// either way (the audit log is for operators, who may know).
async fn mail_reset_link(
    state: &AppState,
    email: &str,
    locale: crate::pages::i18n::Locale,
    address: &str,
) -> Result<(), authgate_store::StoreError> {
    let user = state.store.get_user_by_email(email).await?;
    // Only a person who signs in with a password gets a link: one who signs
    // in only through an identity provider has no password to reset, and
    // a link would give their account one (a way in around the provider).
    let Some(user) =
        user.filter(|u| !u.disabled && authgate_authority::federation::link::has_password(u))
    else {
        authgate_authority::audit::audit_detail(
            state,
            "user.password_reset.requested",
            Some(email),
            None,
            None,
            Some(address),
            "unknown_account",
            json!({}),
        );
        return Ok(());
    };
    let link = setup_links::create_link(
        state,
        Purpose::PasswordReset,
        Some(&user.id),
        crate::mail::RESET_LINK_TTL,
    )
    .await?;
    let sent = crate::mail::send(
        state,
        locale,
        &user,
        crate::mail::Mail::PasswordReset { url: &link.url },
    )
    .await?;
    authgate_authority::audit::audit_detail(
        state,
        "user.password_reset.requested",
        Some(&user.id),
        None,
        None,
        Some(address),
        if sent { "ok" } else { "no_mail" },
        json!({"email": user.email}),
    );
    Ok(())
}
