//! `/account/mfa`: the person's authenticator app and recovery codes
//! (which stand in for the app or a passkey: a person with passkeys only
//! makes new ones here too, with their password).
//! Setting one up shows its QR code and key, and it counts only once a
//! code from it was typed; the recovery codes are shown once, when made;
//! removing the app takes a current code from it or the password.

use super::mfa::{EnrolView, problem};
use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::{qr, session};
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::mfa::{MfaError, policy, recovery_codes, totp};
use authgate_core::model::{Session, User};
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

#[derive(Template)]
#[template(path = "account_mfa.html")]
struct AccountMfaPage {
    page: PageCtx,
    csrf: String,
    user_email: String,
    /// `none`, `pending` or `active`.
    status: &'static str,
    /// Unused recovery codes left.
    remaining: u64,
    /// The person has a passkey (their codes may stand in for it).
    passkeys: bool,
    /// Set when an authenticator is being set up.
    enrol: Option<EnrolView>,
    /// New recovery codes, shown once.
    codes: Vec<String>,
    error: Option<String>,
    notice: Option<String>,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the two-step verification page");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
        "Try again in a moment.",
    )
}

fn field(pairs: &[(String, String)], k: &str) -> String {
    Params::new(pairs)
        .single(k)
        .ok()
        .flatten()
        .unwrap_or("")
        .to_owned()
}

fn to_login(state: &AppState) -> Response {
    page::see_other(&format!("{}/login", state.settings.issuer_path()))
}

/// The signed-in (active) person of this browser, or where to send it.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<(Session, User), Response> {
    let sess = match session::load(state, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return Err(to_login(state)),
        Err(e) => return Err(failure(state, e)),
    };
    let Some(uid) = session::signed_in_user(&sess).map(str::to_owned) else {
        return Err(to_login(state));
    };
    match state.store.get_user(&uid).await {
        Ok(Some(u)) if !u.disabled => Ok((sess, u)),
        Ok(_) => Err(to_login(state)),
        Err(e) => Err(failure(state, e)),
    }
}

/// A posted form of the signed-in person, CSRF checked.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Result<(Vec<(String, String)>, Session, User), Response> {
    let Ok(FormPairs(pairs)) = form else {
        return Err(page::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
            "Go back and try again.",
        ));
    };
    let (sess, user) = signed_in(state, headers).await?;
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return Err(page::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form did not come from this page (CSRF check failed).",
            "Reload the page and try again.",
        ));
    }
    Ok((pairs, sess, user))
}

/// What the page shows besides its status.
#[derive(Default)]
struct Extra {
    enrol: Option<EnrolView>,
    codes: Vec<String>,
    error: Option<String>,
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    sess: &Session,
    user: &User,
    status: StatusCode,
    extra: Extra,
) -> Response {
    let (st, remaining) = match (
        totp::status(state, &user.id).await,
        recovery_codes::remaining(state, &user.id).await,
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => return failure(state, e),
    };
    let factors = match policy::factors(state, &user.id).await {
        Ok(f) => f,
        Err(e) => return failure(state, e),
    };
    let p = AccountMfaPage {
        page: PageCtx::new(state),
        csrf: sess.csrf_token.clone(),
        user_email: user.email.clone(),
        status: match st {
            totp::Status::None => "none",
            totp::Status::Pending => "pending",
            totp::Status::Active => "active",
        },
        remaining,
        passkeys: factors.passkeys,
        enrol: extra.enrol,
        codes: extra.codes,
        error: extra.error,
        notice: extra.notice,
    };
    let mut resp = page::render(state, status, &p);
    qr::allow_data_images(&mut resp);
    resp
}

/// `GET /account/mfa`.
pub async fn page(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok((sess, user)) => render(&state, &sess, &user, StatusCode::OK, Extra::default()).await,
        Err(r) => r,
    }
}

/// The enrolment to show (started now, or the recent one again).
async fn enrolment(
    state: &AppState,
    sess: &Session,
    user: &User,
    error: Option<String>,
) -> Response {
    match totp::start_enrolment(state, user).await {
        Ok(e) => {
            let status = if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            let extra = Extra {
                enrol: Some(EnrolView::of(e)),
                error,
                ..Extra::default()
            };
            render(state, sess, user, status, extra).await
        }
        Err(e @ MfaError::AlreadyEnrolled) => {
            let extra = Extra {
                error: Some(problem(&e)),
                ..Extra::default()
            };
            render(state, sess, user, StatusCode::CONFLICT, extra).await
        }
        Err(e) => failure(state, e),
    }
}

/// `POST /account/mfa/setup` (`csrf`): starts setting up an app.
pub async fn setup(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    match posted(&state, &headers, form).await {
        Ok((_, sess, user)) => enrolment(&state, &sess, &user, None).await,
        Err(r) => r,
    }
}

/// `POST /account/mfa/confirm` (`code`, `csrf`): turns the app on with a
/// code from it, and shows the first recovery codes.
pub async fn confirm(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, sess, user) = match posted(&state, &headers, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match totp::confirm(&state, &user, &field(&pairs, "code"), client.key()).await {
        Ok(()) => {}
        Err(e @ (MfaError::Store(_) | MfaError::Crypto)) => return failure(&state, e),
        Err(e @ MfaError::AlreadyEnrolled) => {
            let extra = Extra {
                error: Some(problem(&e)),
                ..Extra::default()
            };
            return render(&state, &sess, &user, StatusCode::CONFLICT, extra).await;
        }
        Err(e) => return enrolment(&state, &sess, &user, Some(problem(&e))).await,
    }
    match recovery_codes::regenerate(&state, &user.id).await {
        Ok(codes) => {
            let extra = Extra {
                codes,
                notice: Some(msg("Two-step verification is on.").into()),
                ..Extra::default()
            };
            render(&state, &sess, &user, StatusCode::OK, extra).await
        }
        Err(e) => failure(&state, e),
    }
}

/// `POST /account/mfa/recovery-codes` (`code` or `password`, `csrf`): new
/// recovery codes, replacing all the old ones, for a person with an app or
/// a passkey. Like turning the app off it needs fresh proof (without an
/// app, the password): a stolen session alone must not mint codes that
/// would pass the second factor later.
pub async fn regenerate_codes(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, sess, user) = match posted(&state, &headers, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // Codes stand in for a factor the person has (the app or a passkey).
    match policy::factors(&state, &user.id).await {
        Ok(f) if f.take_recovery_codes() => {}
        Ok(_) => {
            let extra = Extra {
                error: Some(problem(&MfaError::NotEnrolled)),
                ..Extra::default()
            };
            return render(&state, &sess, &user, StatusCode::CONFLICT, extra).await;
        }
        Err(e) => return failure(&state, e),
    }
    match fresh_proof(&state, &user, &pairs, &client).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let extra = Extra {
                error: Some(error),
                ..Extra::default()
            };
            return render(&state, &sess, &user, StatusCode::UNAUTHORIZED, extra).await;
        }
        Err(r) => return r,
    }
    match recovery_codes::regenerate(&state, &user.id).await {
        Ok(codes) => {
            let extra = Extra {
                codes,
                notice: Some(msg("New recovery codes made; the old ones no longer work.").into()),
                ..Extra::default()
            };
            render(&state, &sess, &user, StatusCode::OK, extra).await
        }
        Err(e) => failure(&state, e),
    }
}

/// Fresh proof for a sensitive change to the second factor: a code from
/// the app when one was typed, else the password. `Ok(Err(msg))` is a
/// refusal to show on the page; `Err` a response already made (store
/// failure).
async fn fresh_proof(
    state: &AppState,
    user: &User,
    pairs: &[(String, String)],
    client: &ClientAddress,
) -> Result<Result<(), String>, Response> {
    let code = field(pairs, "code");
    if !code.trim().is_empty() {
        return match totp::verify(state, &user.id, &code, client.key()).await {
            Ok(()) => Ok(Ok(())),
            Err(e @ (MfaError::Store(_) | MfaError::Crypto)) => Err(failure(state, e)),
            Err(e) => Ok(Err(problem(&e))),
        };
    }
    Ok(password_ok(state, user, &field(pairs, "password"), client).await)
}

/// Checks the person's password for a sensitive change, under the sign-in
/// throttle.
async fn password_ok(
    state: &AppState,
    user: &User,
    password: &str,
    client: &ClientAddress,
) -> Result<(), String> {
    let now = state.clock.now();
    let key = client.key();
    if let Err(r) = state.login_throttle.check(&user.email, key, now) {
        return Err(crate::pages::sign_in::wait_message(r));
    }
    let ok = !password.is_empty()
        && password.len() <= authgate_authority::sign_in::MAX_PASSWORD_BYTES
        && state
            .passwords
            .verify(password.to_owned(), Some(user.password_hash.clone()))
            .await;
    if !ok {
        state.login_throttle.fail(&user.email, key, now);
        return Err(msg("The password is not correct.").into());
    }
    state.login_throttle.succeed(&user.email, key);
    Ok(())
}

/// `POST /account/mfa/remove` (`code` or `password`, `csrf`): turns the
/// app off (and its recovery codes with it, unless a passkey is left).
pub async fn remove(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, sess, user) = match posted(&state, &headers, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let proof = match fresh_proof(&state, &user, &pairs, &client).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(error) = proof {
        let extra = Extra {
            error: Some(error),
            ..Extra::default()
        };
        return render(&state, &sess, &user, StatusCode::UNAUTHORIZED, extra).await;
    }
    match totp::remove(&state, &user.id, &user.id).await {
        Ok(_) => {
            let extra = Extra {
                notice: Some(msg("Two-step verification with an authenticator app is off.").into()),
                ..Extra::default()
            };
            render(&state, &sess, &user, StatusCode::OK, extra).await
        }
        Err(e) => failure(&state, e),
    }
}
