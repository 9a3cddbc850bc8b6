//! Self sign-up (issue 21): "Create an account" from the sign-in page,
//! when `signup::allowed_for` the pending request's MCP server (else 404).
//!
//! The answer never says whether the address has an account: the same
//! "check your email" page either way, and the work (Argon2, the store, the
//! mail) happens after the answer. A new address gets an unverified
//! account and a verification link; an address that has an account gets a
//! notice instead and nothing is created. Requests are throttled per
//! address typed and per client address (a throttled request gets the same
//! answer and sends nothing). Whatever depends only on what was typed (the
//! domain limit, an organization that forbids passwords, the password
//! policy, CR/LF in a name or address) is said plainly.
//!
//! The account signs in, but `signup::hold` keeps it from any consent or
//! code until the address is verified: [`held_page`] says so and offers to
//! send the link again.

use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::signup::{self, Created, Hold, Problem};
use authgate_core::model::{Session, User};
use authgate_core::token_request::Params;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    page: PageCtx,
    csrf: String,
    request_id: String,
    email: String,
    name: String,
    /// The request was taken: "check your mail".
    sent: bool,
    error: Option<&'static str>,
    /// The field the error is about (`email`, `name`, `password`).
    error_field: &'static str,
}

#[derive(Template)]
#[template(path = "signup_held.html")]
struct HeldPage {
    page: PageCtx,
    csrf: String,
    request_id: String,
    email: String,
    sent: bool,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on the sign-up page");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        msg("Something went wrong"),
        msg("The server could not complete the request."),
        msg("Try again in a moment."),
    )
}

fn unavailable(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::NOT_FOUND,
        msg("Sign-up is not available"),
        msg("This server does not let people create an account here."),
        msg("Ask an administrator of this server for an invitation."),
    )
}

fn unreadable(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        msg("Request refused"),
        msg("The form could not be read."),
        msg("Reload the page and try again."),
    )
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whether the request `rid` in `sess` (or, with none pending, the
/// instance) offers sign-up. Used by the sign-in page for its link too.
pub(crate) async fn offered(state: &AppState, sess: &Session, rid: &str) -> bool {
    let resource = match session::pending(sess, rid, state.clock.now()) {
        Some(req) => match state
            .registry
            .resource_by_id(state.store.as_ref(), &req.resource_id)
            .await
        {
            Ok(Some(r)) => Some(r),
            // Fail closed: an unknown server or a storage failure offers
            // nothing.
            Ok(None) => return false,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the MCP server's sign-up rule");
                return false;
            }
        },
        None => None,
    };
    signup::allowed_for(&state.settings, resource.as_deref())
}

pub async fn signup_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rid = q.get("r").cloned().unwrap_or_default();
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    if !offered(&state, &sess, &rid).await {
        return unavailable(&state);
    }
    let mut resp = page::render(
        &state,
        StatusCode::OK,
        &SignupPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            request_id: rid,
            email: String::new(),
            name: String::new(),
            sent: false,
            error: None,
            error_field: "",
        },
    );
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

/// The sentence and the field for a problem with the form.
fn problem_text(p: &Problem) -> (&'static str, &'static str) {
    match p {
        Problem::Email => (
            "email",
            msg("Enter a valid email address, like name@example.com."),
        ),
        Problem::Name => (
            "name",
            msg("The name must be at most 200 characters, on one line."),
        ),
        Problem::Domain => (
            "email",
            msg("Accounts can only be created here with an address at an allowed domain."),
        ),
        Problem::OrganizationForbidsPasswords => (
            "email",
            msg(
                "Your organization does not allow passwords on this server: sign in through your company's sign-in.",
            ),
        ),
        Problem::Password(reason) if reason.contains("at least") => (
            "password",
            msg("The password must have at least 8 characters."),
        ),
        Problem::Password(_) => (
            "password",
            msg("The password must have at most 1024 bytes."),
        ),
    }
}

pub async fn signup_submit(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return unreadable(&state);
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (rid, csrf) = (field("r"), field("csrf"));
    let (email_typed, name_typed, password) = (field("email"), field("name"), field("password"));
    let sess = match crate::endpoints::login::signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if !offered(&state, &sess, &rid).await {
        return unavailable(&state);
    }
    let (email, name) = match signup::check(&state, &email_typed, &name_typed, &password).await {
        Ok(Ok(x)) => x,
        Ok(Err(problem)) => {
            let (error_field, error) = problem_text(&problem);
            // What was typed goes back, without control characters.
            let shown = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
            return page::render(
                &state,
                StatusCode::BAD_REQUEST,
                &SignupPage {
                    page: PageCtx::new(&state),
                    csrf: sess.csrf_token,
                    request_id: rid,
                    email: shown(email_typed.trim()),
                    name: shown(name_typed.trim()),
                    sent: false,
                    error: Some(error),
                    error_field,
                },
            );
        }
        Err(e) => return failure(&state, e),
    };
    if state
        .signup_throttle
        .allow(&email, client.key(), state.clock.now())
    {
        // After the answer, whatever the outcome: the time to answer
        // tells nothing about the account.
        let locale = crate::mail::request_locale();
        let (state, addr) = (state.clone(), client.0.to_string());
        tokio::spawn(async move {
            if let Err(e) = create_and_mail(&state, &email, name, password, locale, &addr).await {
                tracing::error!(error = %e, "could not complete a sign-up");
            }
        });
    } else {
        tracing::warn!(address = %client.0, "sign-up requests throttled");
        authgate_authority::audit::audit_detail(
            &state,
            "user.signup.throttled",
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
        &SignupPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            request_id: rid,
            email: String::new(),
            name: String::new(),
            sent: true,
            error: None,
            error_field: "",
        },
    )
}

/// Creates the account and mails the verification link, or mails the
/// owner of an existing account a notice. Audited either way.
async fn create_and_mail(
    state: &AppState,
    email: &str,
    name: Option<String>,
    password: String,
    locale: crate::pages::i18n::Locale,
    address: &str,
) -> Result<(), authgate_store::StoreError> {
    match signup::create_account(state, email, name, password).await? {
        Created::New(user) => {
            let sent = crate::mail::send_verification(state, locale, &user).await?;
            authgate_authority::audit::audit_detail(
                state,
                "user.signup",
                Some(&user.id),
                None,
                None,
                Some(address),
                if sent { "ok" } else { "no_mail" },
                json!({"email": user.email}),
            );
        }
        Created::Exists(user) => {
            if !user.disabled {
                crate::mail::notify(state, locale, &user, crate::mail::Mail::AccountExists).await;
            }
            authgate_authority::audit::audit_detail(
                state,
                "user.signup",
                Some(&user.id),
                None,
                None,
                Some(address),
                "existing_account",
                json!({"email": user.email}),
            );
        }
    }
    Ok(())
}

/// The page shown instead of consent when `user` is held.
pub(crate) fn held_page(
    state: &AppState,
    hold: Hold,
    user: &User,
    csrf: &str,
    rid: &str,
    sent: bool,
) -> Response {
    match hold {
        Hold::Unverified => page::render(
            state,
            StatusCode::FORBIDDEN,
            &HeldPage {
                page: PageCtx::new(state),
                csrf: csrf.to_owned(),
                request_id: rid.to_owned(),
                email: user.email.clone(),
                sent,
            },
        ),
        Hold::ClosedToSignedUp => page::error_page(
            state,
            StatusCode::FORBIDDEN,
            msg("This MCP server is not open to your account"),
            msg("Its administrator allows only accounts they created or invited."),
            msg("Ask an administrator of this server for an invitation."),
        ),
        Hold::NoAccount => page::error_page(
            state,
            StatusCode::FORBIDDEN,
            msg("Approval refused"),
            msg("This account cannot allow apps."),
            msg("Ask an administrator of this server."),
        ),
    }
}

/// "Send the link again" on the held page: throttled like sign-up itself.
pub async fn resend(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return unreadable(&state);
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (rid, csrf) = (field("r"), field("csrf"));
    let sess = match crate::endpoints::login::signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let Some(uid) = session::signed_in_user(&sess) else {
        return page::see_other(&format!(
            "{}/login?r={}",
            state.settings.issuer_path(),
            enc(&rid)
        ));
    };
    let user = match state.store.get_user(uid).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => {
            return page::see_other(&format!(
                "{}/login?r={}",
                state.settings.issuer_path(),
                enc(&rid)
            ));
        }
        Err(e) => return failure(&state, e),
    };
    if !signup::needs_verification(&user) {
        return page::see_other(&format!(
            "{}/consent?r={}",
            state.settings.issuer_path(),
            enc(&rid)
        ));
    }
    if state
        .signup_throttle
        .allow(&user.email, client.key(), state.clock.now())
    {
        if let Err(e) =
            crate::mail::send_verification(&state, crate::mail::request_locale(), &user).await
        {
            return failure(&state, e);
        }
    } else {
        tracing::warn!(address = %client.0, "verification mail requests throttled");
    }
    held_page(
        &state,
        Hold::Unverified,
        &user,
        &sess.csrf_token,
        &rid,
        true,
    )
}
