//! The sign-in page and sign-out.
//!
//! Failures say the same thing whether the account exists or not, take the
//! same time (a dummy Argon2 check for unknown accounts), and are throttled
//! (`throttle`: per client address, per account and address, and an
//! account-wide slow-down) by the one client-address rule. After sign-in, a pending
//! authorization request goes on to the consent page, or straight back to
//! the client when consent was already given.

use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::pages::sign_in::wait_message;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::sign_in::{self, SignInError};
use authgate_core::token_request::Params;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) page: PageCtx,
    pub(crate) csrf: String,
    pub(crate) request_id: String,
    pub(crate) email: String,
    pub(crate) client_name: Option<String>,
    pub(crate) error: Option<String>,
    /// Why the person is here (a password just set, signed out everywhere).
    pub(crate) notice: Option<&'static str>,
    /// Which step of the email-first sign-in: `email`, `password`,
    /// `choose` (several company connections), `company` (the
    /// organization forbids passwords), `org_disabled`.
    pub(crate) step: &'static str,
    /// The organization the email's domain belongs to, when it does.
    pub(crate) org_name: Option<String>,
    /// The organization's connections (step `choose`).
    pub(crate) connections: Vec<ConnectionButton>,
    /// Connections shown to everyone on step `email` (social sign-in).
    pub(crate) social: Vec<ConnectionButton>,
    /// Step `choose` also offers the password form.
    pub(crate) password_allowed: bool,
    /// Offer "Sign in with a passkey" (the issuer can be a WebAuthn RP).
    pub(crate) passkeys: bool,
    /// Offer "Create an account" (`endpoints::signup::offered`).
    pub(crate) signup: bool,
}

/// A button that starts sign-in through an upstream connection.
pub(crate) struct ConnectionButton {
    pub(crate) id: String,
    pub(crate) name: String,
}

impl LoginPage {
    /// The page at `step` for the session `csrf` and request `rid`.
    pub(crate) fn at(
        state: &AppState,
        step: &'static str,
        csrf: &str,
        rid: &str,
        email: String,
    ) -> Self {
        Self {
            page: PageCtx::new(state),
            csrf: csrf.to_owned(),
            request_id: rid.to_owned(),
            email,
            client_name: None,
            error: None,
            notice: None,
            step,
            org_name: None,
            connections: Vec::new(),
            social: Vec::new(),
            password_allowed: true,
            passkeys: authgate_authority::passkeys::available(state),
            signup: false,
        }
    }
}

/// The notice a redirect to the sign-in page asks for.
fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    if q.contains_key("signed_out_everywhere") {
        Some("You are signed out everywhere, and your apps must be allowed again.")
    } else if q.contains_key("password_set") {
        Some("Your password is set: sign in with it.")
    } else {
        None
    }
}

const ORG_NO_PASSWORDS: &str = "Your organization does not allow passwords on this server: sign in through your company's sign-in.";
const GENERIC_FAILURE: &str = "The email or password is not correct.";
const DISABLED: &str =
    "This account is disabled. Ask an administrator of this server to enable it.";

pub(crate) fn store_failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "storage failure on sign-in");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the sign-in.",
        "Try again in a moment.",
    )
}

pub(crate) async fn client_name(
    state: &AppState,
    s: &authgate_core::model::Session,
    rid: &str,
) -> Option<String> {
    let req = session::pending(s, rid, state.clock.now())?;
    let c = authgate_authority::clients::resolve(state, &req.client_id)
        .await
        .ok()??;
    Some(c.display_name().to_owned())
}

pub async fn login_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rid = q.get("r").cloned().unwrap_or_default();
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return store_failure(&state, e),
    };
    let hint = session::pending(&sess, &rid, state.clock.now())
        .and_then(|r| r.login_hint)
        .unwrap_or_default();
    let mut page = LoginPage::at(&state, "email", &sess.csrf_token, &rid, hint);
    page.client_name = client_name(&state, &sess, &rid).await;
    page.notice = notice(&q);
    page.social = crate::endpoints::login_email::social_buttons(&state).await;
    page.signup = crate::endpoints::signup::offered(&state, &sess, &rid).await;
    let mut resp = page::render(&state, StatusCode::OK, &page);
    crate::endpoints::passkeys::allow_script(&mut resp);
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

pub async fn login_submit(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return page::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The form could not be read.",
            "Go back and try again.",
        );
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (email, password, rid, csrf) = (
        field("email").trim().to_lowercase(),
        field("password"),
        field("r"),
        field("csrf"),
    );
    let sess = match signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let addr_key = client.key();
    let show = |error: String| {
        let state = state.clone();
        let sess = sess.clone();
        let rid = rid.clone();
        let email = email.clone();
        async move {
            let mut page = LoginPage::at(&state, "password", &sess.csrf_token, &rid, email);
            page.client_name = client_name(&state, &sess, &rid).await;
            page.signup = crate::endpoints::signup::offered(&state, &sess, &rid).await;
            page.error = Some(error);
            let mut resp = page::render(&state, StatusCode::UNAUTHORIZED, &page);
            crate::endpoints::passkeys::allow_script(&mut resp);
            resp
        }
    };
    // An organization that forbids local passwords (or is deactivated)
    // refuses them before the password is looked at; the answer depends
    // only on the email's domain, so it tells nothing about the account.
    match authgate_authority::orgs::local_password_allowed(&state, &email).await {
        Ok(true) => {}
        Ok(false) => return show(ORG_NO_PASSWORDS.into()).await,
        Err(e) => return store_failure(&state, e),
    }
    let user = match sign_in::authenticate_user(&state, &email, &password, addr_key).await {
        Ok(user) => user,
        Err(SignInError::Throttled(refusal)) => return show(wait_message(refusal)).await,
        Err(SignInError::BadCredentials) => return show(GENERIC_FAILURE.into()).await,
        Err(SignInError::Disabled) => return show(DISABLED.into()).await,
        Err(SignInError::Store(e)) => return store_failure(&state, e),
    };
    let ctx = authgate_core::model::AuthContext::password();
    // A person with a second factor, or who must have one, is not signed
    // in yet: the sign-in waits for it (`endpoints::mfa`).
    match authgate_authority::mfa::policy::after_password(&state, &user).await {
        Ok(authgate_authority::mfa::policy::AfterPassword::Done) => {}
        Ok(_) => return crate::endpoints::mfa::begin(&state, sess, &user.id, &ctx, &rid).await,
        Err(e) => return store_failure(&state, e),
    }
    // The end every sign-in shares (passkeys and upstreams call it too).
    match crate::pages::sign_in::complete(&state, &sess, &user.id, &ctx, &rid).await {
        Ok(resp) => resp,
        Err(e) => store_failure(&state, e),
    }
}

/// The session the sign-in form was served in, if it is still there and
/// the form carries its CSRF token; otherwise the page to answer with.
pub(crate) async fn signed_form_session(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<authgate_core::model::Session, Response> {
    let sess = match session::load(state, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => {
            return Err(page::error_page(
                state,
                StatusCode::BAD_REQUEST,
                "Your session expired",
                "The sign-in form was open too long or cookies are blocked.",
                "Go back to the app and connect again.",
            ));
        }
        Err(e) => return Err(store_failure(state, e)),
    };
    if !session::csrf_ok(&sess, Some(csrf)) {
        return Err(page::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The form did not come from this page (CSRF check failed).",
            "Reload the sign-in page and try again.",
        ));
    }
    Ok(sess)
}

pub async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let csrf = form.ok().and_then(|f| {
        Params::new(&f.0)
            .single("csrf")
            .ok()
            .flatten()
            .map(str::to_owned)
    });
    let base = state.settings.issuer_path().to_owned();
    match session::load(&state, &headers).await {
        Ok(Some((s, _))) => {
            if !session::csrf_ok(&s, csrf.as_deref()) {
                return page::error_page(
                    &state,
                    StatusCode::FORBIDDEN,
                    "Sign-out refused",
                    "The form did not come from this page (CSRF check failed).",
                    "Reload the page and try again.",
                );
            }
            if let Err(e) = state.store.delete_session(&s.id_hash).await {
                return store_failure(&state, e);
            }
            if let Some(u) = &s.user_id {
                authgate_authority::audit::audit(&state, "sign_out", Some(u), None, None, "ok");
            }
        }
        Ok(None) => {}
        Err(e) => return store_failure(&state, e),
    }
    let mut resp = page::see_other(&format!("{base}/login"));
    session::clear_cookie(&state, &mut resp);
    resp
}
