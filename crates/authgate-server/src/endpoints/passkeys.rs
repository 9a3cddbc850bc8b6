//! Passkeys on the pages: the person's list (`/account/passkeys`: add,
//! rename, remove) and signing in with one (`/login/passkey`), either
//! password-less or as the second factor after a password.
//!
//! The browser side is `assets/passkey.js`: it fetches the ceremony's
//! options (`POST …/options`, answered as JSON), calls WebAuthn, and posts
//! the answer in an ordinary form, so the end of a sign-in is the same
//! 303 as after a password. The ceremony's state waits in the session:
//! server-side for a signed-in person, in the signed pre-session cookie
//! before sign-in (single use either way, see `authority::passkeys`).

use crate::http::form::FormPairs;
use crate::pages::page::{self, PageCtx};
use crate::pages::{session, sign_in};
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::passkeys::{self, PasskeyError};
use authgate_core::model::{Session, User};
use authgate_core::token_request::Params;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Session data keys of the ceremonies waiting for the browser.
pub(crate) const REGISTRATION: &str = "passkey_registration";
const SIGN_IN: &str = "passkey_sign_in";

const SCRIPT: &str = include_str!("../../assets/passkey.js");

/// `GET /assets/passkey.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

struct Row {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "passkeys.html")]
struct PasskeysPage {
    page: PageCtx,
    csrf: String,
    user_email: String,
    passkeys: Vec<Row>,
    available: bool,
    error: Option<String>,
    notice: Option<String>,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the passkey pages");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the passkey request.",
        "Try again in a moment.",
    )
}

pub(crate) fn json_error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

fn field(pairs: &[(String, String)], k: &str) -> String {
    Params::new(pairs)
        .single(k)
        .ok()
        .flatten()
        .unwrap_or("")
        .to_owned()
}

/// The signed-in person of this browser, if any (and still active).
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, authgate_store::StoreError> {
    let Some((sess, _)) = session::load(state, headers).await? else {
        return Ok(None);
    };
    let Some(uid) = session::signed_in_user(&sess).map(str::to_owned) else {
        return Ok(None);
    };
    Ok(match state.store.get_user(&uid).await? {
        Some(u) if !u.disabled => Some((sess, u)),
        _ => None,
    })
}

async fn render_list(
    state: &AppState,
    sess: &Session,
    user: &User,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let list = match passkeys::list(state, &user.id).await {
        Ok(l) => l,
        Err(e) => return failure(state, e),
    };
    let passkeys = list
        .into_iter()
        .map(|p| Row {
            id: p.id,
            name: p.name,
            created: crate::format::time(Some(p.created_at)),
            last_used: crate::format::time(p.last_used_at),
        })
        .collect();
    let p = PasskeysPage {
        page: PageCtx::new(state),
        csrf: sess.csrf_token.clone(),
        user_email: user.email.clone(),
        passkeys,
        available: passkeys::available(state),
        error,
        notice,
    };
    let mut resp = page::render(state, status, &p);
    allow_script(&mut resp);
    resp
}

/// `GET /account/passkeys`.
pub async fn list_page(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(Some((sess, user))) => {
            render_list(&state, &sess, &user, StatusCode::OK, None, None).await
        }
        Ok(None) => page::see_other(&format!("{}/login", state.settings.issuer_path())),
        Err(e) => failure(&state, e),
    }
}

/// The CSRF token a script sends (header), or a form field.
pub(crate) fn csrf_of(headers: &HeaderMap, pairs: &[(String, String)]) -> String {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| field(pairs, "csrf"))
}

pub(crate) fn put(sess: &mut Session, key: &str, v: Value) {
    if !sess.data.is_object() {
        sess.data = json!({});
    }
    if let Some(o) = sess.data.as_object_mut() {
        o.insert(key.into(), v);
    }
}

pub(crate) fn take(sess: &mut Session, key: &str) -> Option<Value> {
    sess.data.as_object_mut().and_then(|o| o.remove(key))
}

/// Saves the session and answers with `resp`, setting the cookie when the
/// session lives in it.
pub(crate) async fn saved(state: &AppState, sess: &Session, mut resp: Response) -> Response {
    match session::save(state, sess).await {
        Ok(Some(raw)) => {
            session::set_cookie(state, &mut resp, &raw);
            resp
        }
        Ok(None) => resp,
        Err(e) => failure(state, e),
    }
}

/// `POST /account/passkeys/options`: options to create a passkey.
pub async fn registration_options(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let pairs = form.map(|f| f.0).unwrap_or_default();
    let (mut sess, user) = match signed_in(&state, &headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "sign in first"),
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&csrf_of(&headers, &pairs))) {
        return json_error(StatusCode::FORBIDDEN, "CSRF check failed; reload the page");
    }
    match passkeys::start_registration(&state, &user).await {
        Ok((options, pending)) => {
            put(&mut sess, REGISTRATION, pending);
            saved(
                &state,
                &sess,
                axum::Json(json!({ "publicKey": options })).into_response(),
            )
            .await
        }
        Err(PasskeyError::Store(e)) => failure(&state, e),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// `POST /account/passkeys`: the browser's new credential (form fields
/// `credential` (JSON), `name`, `csrf`).
pub async fn register(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return bad_form(&state);
    };
    let (mut sess, user) = match signed_in(&state, &headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return page::see_other(&format!("{}/login", state.settings.issuer_path())),
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return csrf_refused(&state);
    }
    let pending = take(&mut sess, REGISTRATION);
    let done = passkeys::finish_registration(
        &state,
        &user,
        pending.as_ref(),
        &field(&pairs, "credential"),
        &field(&pairs, "name"),
    )
    .await;
    let resp = match done {
        Ok(p) => {
            // Told by mail: a passkey someone else added is a way in.
            crate::mail::notify(
                &state,
                crate::mail::request_locale(),
                &user,
                crate::mail::Mail::PasskeyAdded { name: &p.name },
            )
            .await;
            let notice = format!("Passkey “{}” added.", p.name);
            render_list(&state, &sess, &user, StatusCode::OK, None, Some(notice)).await
        }
        Err(PasskeyError::Store(e)) => return failure(&state, e),
        Err(e) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::BAD_REQUEST,
                Some(e.to_string()),
                None,
            )
            .await
        }
    };
    saved(&state, &sess, resp).await
}

/// `POST /account/passkeys/{id}/rename` (`name`, `csrf`).
pub async fn rename(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return bad_form(&state);
    };
    let (sess, user) = match signed_in(&state, &headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return page::see_other(&format!("{}/login", state.settings.issuer_path())),
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return csrf_refused(&state);
    }
    match passkeys::rename(&state, &user.id, &id, &field(&pairs, "name")).await {
        Ok(true) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::OK,
                None,
                Some("Passkey renamed.".into()),
            )
            .await
        }
        Ok(false) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::NOT_FOUND,
                Some("That passkey is not yours or is gone.".into()),
                None,
            )
            .await
        }
        Err(PasskeyError::Store(e)) => failure(&state, e),
        Err(e) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::BAD_REQUEST,
                Some(e.to_string()),
                None,
            )
            .await
        }
    }
}

/// `POST /account/passkeys/{id}/delete` (`csrf`).
pub async fn remove(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return bad_form(&state);
    };
    let (sess, user) = match signed_in(&state, &headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return page::see_other(&format!("{}/login", state.settings.issuer_path())),
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return csrf_refused(&state);
    }
    match passkeys::remove(&state, &user.id, &user.id, &id).await {
        Ok(true) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::OK,
                None,
                Some("Passkey removed.".into()),
            )
            .await
        }
        Ok(false) => {
            render_list(
                &state,
                &sess,
                &user,
                StatusCode::NOT_FOUND,
                Some("That passkey is not yours or is gone.".into()),
                None,
            )
            .await
        }
        Err(e) => failure(&state, e),
    }
}

/// `POST /login/passkey/options`: options to sign in with a passkey. The
/// browser must already hold the sign-in page's (pre-)session.
pub async fn sign_in_options(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let pairs = form.map(|f| f.0).unwrap_or_default();
    let mut sess = match session::load(&state, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "your session expired; reload the page",
            );
        }
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&csrf_of(&headers, &pairs))) {
        return json_error(StatusCode::FORBIDDEN, "CSRF check failed; reload the page");
    }
    match passkeys::start_sign_in(&state) {
        Ok((options, pending)) => {
            put(&mut sess, SIGN_IN, pending);
            saved(
                &state,
                &sess,
                axum::Json(json!({ "publicKey": options })).into_response(),
            )
            .await
        }
        Err(PasskeyError::Store(e)) => failure(&state, e),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// `POST /login/passkey` (`credential` (JSON), `r`, `csrf`): signs the
/// person in. When a password sign-in is waiting for its second factor,
/// the passkey must be that person's and completes it.
pub async fn sign_in(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return bad_form(&state);
    };
    let mut sess = match session::load(&state, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => {
            return page::error_page(
                &state,
                StatusCode::BAD_REQUEST,
                "Your session expired",
                "The sign-in page was open too long or cookies are blocked.",
                "Go back to the app and connect again.",
            );
        }
        Err(e) => return failure(&state, e),
    };
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return csrf_refused(&state);
    }
    let rid = field(&pairs, "r");
    let now = state.clock.now();
    let second = session::second_factor_pending(&sess, now);
    let pending = take(&mut sess, SIGN_IN);
    let done = passkeys::finish_sign_in(
        &state,
        pending.as_ref(),
        &field(&pairs, "credential"),
        second.as_ref().map(|p| p.user_id.as_str()),
    )
    .await;
    match done {
        Ok(signed) => {
            // A passkey alone is a local credential: an organization that
            // is deactivated or wants its own identity provider refuses it
            // like a password (the second-factor path already passed that
            // check with its first factor).
            if second.is_none() {
                use authgate_authority::orgs::{self, OrgGate};
                let text = match orgs::gate(&state, &signed.user.email, None).await {
                    Ok(OrgGate::Open) => None,
                    Ok(OrgGate::Disabled(_)) => Some(
                        "Your organization's access to this server is turned off. Ask your administrator.",
                    ),
                    Ok(OrgGate::UseCompanySignIn(_)) => Some(
                        "Your organization does not allow passwords on this server. Sign in through your company's sign-in instead: start again from your app and choose your company's sign-in, or ask your administrator.",
                    ),
                    Err(e) => return failure(&state, e),
                };
                if let Some(text) = text {
                    let resp = page::error_page(
                        &state,
                        StatusCode::FORBIDDEN,
                        "Passkey sign-in failed",
                        text,
                        "Go back and try again.",
                    );
                    return saved(&state, &sess, resp).await;
                }
            }
            let ctx = match &second {
                Some(p) => signed.after(&p.ctx),
                None => signed.context(),
            };
            match sign_in::complete(&state, &sess, &signed.user.id, &ctx, &rid).await {
                Ok(resp) => resp,
                Err(e) => failure(&state, e),
            }
        }
        Err(PasskeyError::Store(e)) => failure(&state, e),
        Err(e) => {
            let resp = page::error_page(
                &state,
                StatusCode::UNAUTHORIZED,
                "Passkey sign-in failed",
                &e.to_string(),
                "Go back and try again, or sign in with your password.",
            );
            // The spent ceremony leaves the session either way.
            saved(&state, &sess, resp).await
        }
    }
}

fn bad_form(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        "Passkey request refused",
        "The form could not be read.",
        "Go back and try again.",
    )
}

fn csrf_refused(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::FORBIDDEN,
        "Passkey request refused",
        "The form did not come from this page (CSRF check failed).",
        "Reload the page and try again.",
    )
}

/// Pages that run `passkey.js` may load scripts from this server and call
/// it back; no inline script either way.
pub fn allow_script(resp: &mut Response) {
    if let Some(csp) = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|c| format!("{c}; script-src 'self'; connect-src 'self'"))
        && let Ok(v) = HeaderValue::from_str(&csp)
    {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}
