//! A passkey as the second factor enrolled on the sign-in's second step
//! (`/login/mfa`, when MFA is required and the person has none yet), next
//! to the authenticator app.
//!
//! The ceremony is bound to the sign-in waiting for its second factor:
//! both requests need that browser's session holding a pending sign-in
//! from a just-verified password (`mfa::waiting`, 5 minutes) and its CSRF
//! token, the passkey is registered for the person of that pending
//! sign-in only, and its state waits in that same session under the
//! account page's key, as single-use and bound to the person
//! (`authority::passkeys`). Whether the step may enrol at all is
//! `mfa::policy::must_enrol`. Success makes the signed-in session and
//! shows new recovery codes once (as after the app's first code, on the
//! same page), then goes on through `/login/mfa/continue`: consent, then
//! the code.

use crate::endpoints::mfa::{self, field};
use crate::endpoints::passkeys::{REGISTRATION, csrf_of, json_error, put, saved, take};
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::session;
use crate::state::SharedState;
use authgate_authority::mfa::{passkey_enrolment, recovery_codes};
use authgate_authority::passkeys::PasskeyError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What the step's page says when the passkey is refused.
fn problem(e: &PasskeyError) -> String {
    match e {
        PasskeyError::Expired => msg("This passkey request expired or was already used. Start again."),
        PasskeyError::Foreign => {
            msg("This passkey request was started for another sign-in. Start again.")
        }
        PasskeyError::NotOwed => {
            msg("A second factor is already set up. Use it to sign in.")
        }
        PasskeyError::Duplicate => msg("This passkey is already registered."),
        PasskeyError::BadName(_) => msg("Give the passkey a name (64 characters at most)."),
        PasskeyError::TooMany => msg("You have the most passkeys allowed."),
        PasskeyError::Unavailable(_) => {
            msg("Passkeys need this server to be reached by a host name (not an IP address); ask its administrator.")
        }
        _ => msg("The passkey could not be verified. Try again."),
    }
    .into()
}

/// `POST /login/mfa/passkey/options` (`r`; CSRF token in `X-CSRF-Token`
/// or `csrf`): options to create the passkey, as JSON.
pub async fn options(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let pairs = form.map(|f| f.0).unwrap_or_default();
    let rid = field(&pairs, "r");
    let (mut sess, _, user) = match mfa::waiting(&state, &headers, &rid).await {
        Ok(x) => x,
        // No sign-in waiting here (a fresh browser, or it expired).
        Err(resp) if resp.status() == StatusCode::SEE_OTHER => {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "your sign-in expired; start again from the sign-in page",
            );
        }
        Err(resp) => return resp,
    };
    if !session::csrf_ok(&sess, Some(&csrf_of(&headers, &pairs))) {
        return json_error(StatusCode::FORBIDDEN, "CSRF check failed; reload the page");
    }
    match passkey_enrolment::start(&state, &user).await {
        Ok((options, pending)) => {
            put(&mut sess, REGISTRATION, pending);
            saved(
                &state,
                &sess,
                axum::Json(json!({ "publicKey": options })).into_response(),
            )
            .await
        }
        Err(PasskeyError::Store(e)) => mfa::failure(&state, e),
        Err(e @ PasskeyError::NotOwed) => json_error(StatusCode::CONFLICT, &e.to_string()),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// `POST /login/mfa/passkey` (`credential` (JSON), `name`, `r`, `csrf`):
/// registers the passkey, signs the person in and shows their recovery
/// codes once, with the link on to where the sign-in was going.
pub async fn register(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, mut sess, p, user) = match mfa::submitted(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let rid = field(&pairs, "r");
    let pending = take(&mut sess, REGISTRATION);
    let done = passkey_enrolment::finish(
        &state,
        &user,
        &p.ctx,
        pending.as_ref(),
        &field(&pairs, "credential"),
        &field(&pairs, "name"),
    )
    .await;
    let ctx = match done {
        Ok((record, ctx)) => {
            // Told by mail, as from the account page: a passkey is a way in.
            crate::mail::notify(
                &state,
                crate::mail::request_locale(),
                &user,
                crate::mail::Mail::PasskeyAdded { name: &record.name },
            )
            .await;
            ctx
        }
        Err(PasskeyError::Store(e)) => return mfa::failure(&state, e),
        Err(e) => {
            let status = match e {
                PasskeyError::NotOwed | PasskeyError::Duplicate => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            // The spent ceremony leaves the session either way (saved
            // first: the step may itself finish the sign-in, with its own
            // cookie, when nothing is owed any more).
            let raw = match session::save(&state, &sess).await {
                Ok(raw) => raw,
                Err(e) => return mfa::failure(&state, e),
            };
            let mut resp =
                mfa::render_step(&state, &sess, &p, &user, &rid, status, Some(problem(&e))).await;
            if let Some(raw) = raw
                && !resp.headers().contains_key(axum::http::header::SET_COOKIE)
            {
                session::set_cookie(&state, &mut resp, &raw);
            }
            return resp;
        }
    };
    // Recovery codes as after the app's enrolment: a lost passkey then
    // needs no operator.
    let codes = match recovery_codes::regenerate(&state, &user.id).await {
        Ok(c) => c,
        Err(e) => return mfa::failure(&state, e),
    };
    let (new_sess, raw) = match session::renew_for_user(&state, &sess, &user.id, &ctx).await {
        Ok(x) => x,
        Err(e) => return mfa::failure(&state, e),
    };
    mfa::codes_page(&state, &new_sess, &rid, codes, false, &raw)
}
