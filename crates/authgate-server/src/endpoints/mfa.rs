//! The second step of a password sign-in (`/login/mfa`): after a correct
//! password, a person with a second factor gives a code from their
//! authenticator app, a recovery code, or a passkey (`/login/passkey`,
//! which finishes a pending second factor itself); a person with none, for
//! whom MFA is required, sets up an authenticator app first.
//!
//! Until then the browser holds only a sign-in waiting for its second
//! factor (`session::begin_second_factor`, 5 minutes), which nothing else
//! accepts as signed in (`session::signed_in_user`). Success ends through
//! `pages::sign_in::complete`, with `amr` = the password's plus `otp` and
//! `mfa` (a recovery code counts as `otp` too: a one-time code).

use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::{qr, session, sign_in};
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::mfa::{self, MfaError, policy, recovery_codes, totp};
use authgate_core::model::{AuthContext, Session, User};
use authgate_core::token_request::Params;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

/// An authenticator app to add: what the enrolment forms show.
pub(crate) struct EnrolView {
    /// The QR code as a `data:` image, when the URI fits in one.
    pub(crate) qr: Option<String>,
    /// The secret in base32 (groups of four, for typing).
    pub(crate) secret: String,
    /// The `otpauth://` URI.
    pub(crate) uri: String,
}

impl EnrolView {
    pub(crate) fn of(e: totp::Enrolment) -> Self {
        let secret = e
            .secret_base32
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            qr: qr::svg_data_uri(&e.uri),
            secret,
            uri: e.uri,
        }
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct StepPage {
    page: PageCtx,
    csrf: String,
    request_id: String,
    client_name: Option<String>,
    /// `verify` (give a second factor), `enrol` (set one up first) or
    /// `codes` (enrolled and signed in: the recovery codes, once).
    step: &'static str,
    /// On `verify`, the person's factors; on `codes`, which one was just
    /// enrolled (the app, or else a passkey).
    totp: bool,
    passkeys: bool,
    /// On `verify`: a recovery code may stand in for the factor
    /// (`policy::Factors::take_recovery_codes`).
    recovery: bool,
    /// On the `enrol` step: a passkey may be added instead of the app
    /// (`mfa_passkey`).
    passkey_enrol: bool,
    enrol: Option<EnrolView>,
    codes: Vec<String>,
    error: Option<String>,
}

/// What a person is told when a code is refused.
pub(crate) fn problem(e: &MfaError) -> String {
    match e {
        MfaError::Throttled(r) => sign_in::wait_message(*r),
        MfaError::WrongCode => msg("The code is not correct.").into(),
        MfaError::Reused => msg("This code was already used. Wait for the next one.").into(),
        MfaError::NotEnrolled => msg("No authenticator app is set up for this account.").into(),
        MfaError::AlreadyEnrolled => {
            msg("An authenticator app is already set up. Remove it first.").into()
        }
        MfaError::Expired => msg("This setup expired. Start again.").into(),
        MfaError::Crypto | MfaError::Store(_) => msg("Something went wrong").into(),
    }
}

pub(crate) fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the second sign-in step");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the sign-in.",
        "Try again in a moment.",
    )
}

pub(crate) fn field(pairs: &[(String, String)], k: &str) -> String {
    Params::new(pairs)
        .single(k)
        .ok()
        .flatten()
        .unwrap_or("")
        .to_owned()
}

fn to_login(state: &AppState, rid: &str) -> Response {
    let base = state.settings.issuer_path();
    if rid.is_empty() {
        page::see_other(&format!("{base}/login"))
    } else {
        page::see_other(&format!(
            "{base}/login?r={}",
            percent_encoding::utf8_percent_encode(rid, percent_encoding::NON_ALPHANUMERIC)
        ))
    }
}

/// After a correct password: the sign-in waits for its second factor in
/// this browser's session, and the browser goes to `/login/mfa`.
pub async fn begin(
    state: &AppState,
    mut sess: Session,
    user_id: &str,
    ctx: &AuthContext,
    rid: &str,
) -> Response {
    session::begin_second_factor(&mut sess, user_id, ctx, state.clock.now());
    let base = state.settings.issuer_path();
    let to = if rid.is_empty() {
        format!("{base}/login/mfa")
    } else {
        format!(
            "{base}/login/mfa?r={}",
            percent_encoding::utf8_percent_encode(rid, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let mut resp = page::see_other(&to);
    match session::save(state, &sess).await {
        Ok(Some(raw)) => session::set_cookie(state, &mut resp, &raw),
        Ok(None) => {}
        Err(e) => return failure(state, e),
    }
    resp
}

/// The session, the sign-in waiting in it, and its (still active) person;
/// otherwise where to send the browser (back to the first step).
pub(crate) async fn waiting(
    state: &AppState,
    headers: &HeaderMap,
    rid: &str,
) -> Result<(Session, session::SecondFactorPending, User), Response> {
    let sess = match session::load(state, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return Err(to_login(state, rid)),
        Err(e) => return Err(failure(state, e)),
    };
    let Some(p) = session::second_factor_pending(&sess, state.clock.now()) else {
        return Err(to_login(state, rid));
    };
    match state.store.get_user(&p.user_id).await {
        Ok(Some(u)) if !u.disabled => Ok((sess, p, u)),
        Ok(_) => Err(to_login(state, rid)),
        Err(e) => Err(failure(state, e)),
    }
}

/// The step's page for `user`: verify when they have a second factor,
/// enrol when they have none and one is required.
pub(crate) async fn render_step(
    state: &AppState,
    sess: &Session,
    pending: &session::SecondFactorPending,
    user: &User,
    rid: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let factors = match policy::factors(state, &user.id).await {
        Ok(f) => f,
        Err(e) => return failure(state, e),
    };
    let mut p = StepPage {
        page: PageCtx::new(state),
        csrf: sess.csrf_token.clone(),
        request_id: rid.to_owned(),
        client_name: crate::endpoints::login::client_name(state, sess, rid).await,
        step: "verify",
        totp: factors.totp,
        passkeys: factors.passkeys && authgate_authority::passkeys::available(state),
        recovery: factors.take_recovery_codes(),
        passkey_enrol: false,
        enrol: None,
        codes: Vec::new(),
        error,
    };
    if !factors.any() {
        match policy::required_for(state, user).await {
            Ok(true) => {}
            // Nothing is owed any more (the factors were removed meanwhile
            // and none is required): the password alone signs in.
            Ok(false) => {
                return match sign_in::complete(state, sess, &user.id, &pending.ctx, rid).await {
                    Ok(r) => r,
                    Err(e) => failure(state, e),
                };
            }
            Err(e) => return failure(state, e),
        }
        match totp::start_enrolment(state, user).await {
            Ok(e) => {
                p.step = "enrol";
                p.enrol = Some(EnrolView::of(e));
                p.passkey_enrol = authgate_authority::passkeys::available(state);
            }
            Err(e) => return failure(state, e),
        }
    }
    let mut resp = page::render(state, status, &p);
    qr::allow_data_images(&mut resp);
    crate::endpoints::passkeys::allow_script(&mut resp);
    resp
}

/// `GET /login/mfa?r=`.
pub async fn step_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rid = q.get("r").cloned().unwrap_or_default();
    match waiting(&state, &headers, &rid).await {
        Ok((sess, p, user)) => {
            render_step(&state, &sess, &p, &user, &rid, StatusCode::OK, None).await
        }
        Err(resp) => resp,
    }
}

/// The form's fields once its session and CSRF token check out.
pub(crate) async fn submitted(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Result<
    (
        Vec<(String, String)>,
        Session,
        session::SecondFactorPending,
        User,
    ),
    Response,
> {
    let Ok(FormPairs(pairs)) = form else {
        return Err(page::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The form could not be read.",
            "Go back and try again.",
        ));
    };
    let rid = field(&pairs, "r");
    let (sess, p, user) = waiting(state, headers, &rid).await?;
    if !session::csrf_ok(&sess, Some(&field(&pairs, "csrf"))) {
        return Err(page::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The form did not come from this page (CSRF check failed).",
            "Reload the sign-in page and try again.",
        ));
    }
    Ok((pairs, sess, p, user))
}

/// `POST /login/mfa` (`method` = `totp` or `recovery`, `code`, `r`,
/// `csrf`).
pub async fn verify(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, sess, p, user) = match submitted(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let rid = field(&pairs, "r");
    let code = field(&pairs, "code");
    let done = match field(&pairs, "method").as_str() {
        "recovery" => recovery_codes::use_code(&state, &user.id, &code, client.key()).await,
        _ => totp::verify(&state, &user.id, &code, client.key()).await,
    };
    match done {
        Ok(()) => {
            let ctx = mfa::after_code(&p.ctx);
            match sign_in::complete(&state, &sess, &user.id, &ctx, &rid).await {
                Ok(r) => r,
                Err(e) => failure(&state, e),
            }
        }
        Err(e @ (MfaError::Store(_) | MfaError::Crypto)) => failure(&state, e),
        Err(e) => {
            let status = match e {
                MfaError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            render_step(&state, &sess, &p, &user, &rid, status, Some(problem(&e))).await
        }
    }
}

/// `POST /login/mfa/enroll` (`code`, `r`, `csrf`): confirms the
/// authenticator set up on the step's page, signs the person in and shows
/// their recovery codes once.
pub async fn enrol(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (pairs, sess, p, user) = match submitted(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let rid = field(&pairs, "r");
    // Someone who already has a second factor gives it: enrolment is no
    // way around it (and one who owes none is signed in by the step).
    match policy::must_enrol(&state, &user).await {
        Ok(false) => {
            return render_step(
                &state,
                &sess,
                &p,
                &user,
                &rid,
                StatusCode::CONFLICT,
                Some(problem(&MfaError::AlreadyEnrolled)),
            )
            .await;
        }
        Ok(true) => {}
        Err(e) => return failure(&state, e),
    }
    match totp::confirm(&state, &user, &field(&pairs, "code"), client.key()).await {
        Ok(()) => {}
        Err(e @ (MfaError::Store(_) | MfaError::Crypto)) => return failure(&state, e),
        Err(e) => {
            return render_step(
                &state,
                &sess,
                &p,
                &user,
                &rid,
                StatusCode::UNAUTHORIZED,
                Some(problem(&e)),
            )
            .await;
        }
    }
    let codes = match recovery_codes::regenerate(&state, &user.id).await {
        Ok(c) => c,
        Err(e) => return failure(&state, e),
    };
    let ctx = mfa::after_code(&p.ctx);
    let (new_sess, raw) = match session::renew_for_user(&state, &sess, &user.id, &ctx).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    codes_page(&state, &new_sess, &rid, codes, true, &raw)
}

/// The page after a second factor was enrolled on the step and the person
/// signed in (`sess`, its cookie `raw`): their new recovery codes, once,
/// and the link on to `/login/mfa/continue`. `totp` says which factor the
/// codes stand in for (the app, or else a passkey).
pub(crate) fn codes_page(
    state: &AppState,
    sess: &Session,
    rid: &str,
    codes: Vec<String>,
    totp: bool,
    raw: &str,
) -> Response {
    let page = StepPage {
        page: PageCtx::new(state),
        csrf: sess.csrf_token.clone(),
        request_id: rid.to_owned(),
        client_name: None,
        step: "codes",
        totp,
        passkeys: !totp,
        recovery: false,
        passkey_enrol: false,
        enrol: None,
        codes,
        error: None,
    };
    let mut resp = page::render(state, StatusCode::OK, &page);
    session::set_cookie(state, &mut resp, raw);
    resp
}

/// `GET /login/mfa/continue?r=`: after the recovery codes were shown, on
/// to where the sign-in was going.
pub async fn continue_after_enrolment(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rid = q.get("r").cloned().unwrap_or_default();
    let sess = match session::load(&state, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return to_login(&state, &rid),
        Err(e) => return failure(&state, e),
    };
    let Some(uid) = session::signed_in_user(&sess).map(str::to_owned) else {
        return to_login(&state, &rid);
    };
    match state.store.get_user(&uid).await {
        Ok(Some(u)) if !u.disabled => {}
        Ok(_) => return to_login(&state, &rid),
        Err(e) => return failure(&state, e),
    }
    match sign_in::continue_to(&state, sess, &uid, &rid).await {
        Ok(r) => r,
        Err(e) => failure(&state, e),
    }
}
