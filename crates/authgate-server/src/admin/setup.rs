//! The pages behind one-time links: first-run setup of the first
//! administrator, and setting a (new) password. The links themselves are
//! `authgate_authority::setup_links`.

use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::setup_links::{Purpose, has_admin, peek, remove_setup_link_file, take};
use authgate_core::model::{Role, Session, User};
use authgate_core::secret;
use authgate_core::token_request::Params;
use authgate_store::StoreError;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn router(base: &str) -> Router<SharedState> {
    Router::new()
        .route(
            &format!("{base}{}", Purpose::AdminSetup.path()),
            get(setup_page).post(setup_submit),
        )
        .route(
            &format!("{base}{}", Purpose::PasswordReset.path()),
            get(password_page).post(password_submit),
        )
        // An invitation: the same form; the link is bound to the address
        // it was mailed to, and using it verifies that address.
        .route(
            &format!("{base}{}", Purpose::Invitation.path()),
            get(invitation_page).post(invitation_submit),
        )
        // Where password links pointed before `/password/reset`.
        .route(
            &format!("{base}/password"),
            get(password_page).post(password_submit),
        )
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    page: PageCtx,
    csrf: String,
    token: String,
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    page: PageCtx,
    csrf: String,
    token: String,
    email: String,
    error: Option<String>,
    /// Accepting an invitation (the form posts to `/invitation`).
    invitation: bool,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on a one-time link page");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
        "Try again in a moment.",
    )
}

fn dead_link(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::NOT_FOUND,
        msg("This link does not work"),
        msg("The link is unknown, was already used, or has expired."),
        msg(
            "Ask for a new link: on the sign-in page, choose “Forgot your password?”, or ask an administrator.",
        ),
    )
}

fn csrf_refused(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form did not come from this page (CSRF check failed).",
        "Open the link again and retry.",
    )
}

async fn setup_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    match (
        peek(&state, &token, Purpose::AdminSetup).await,
        has_admin(&state).await,
    ) {
        (Ok(Some(_)), Ok(false)) => {}
        (Ok(_), Ok(_)) => return dead_link(&state),
        (Err(e), _) | (_, Err(e)) => return failure(&state, e),
    }
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = page::render(
        &state,
        StatusCode::OK,
        &SetupPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            token,
            email: String::new(),
            name: String::new(),
            error: None,
        },
    );
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

/// Reads the form and the browser session, checking CSRF.
async fn form_and_session(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Result<(HashMap<String, String>, Session), Response> {
    let Ok(FormPairs(pairs)) = form else {
        return Err(super::dashboard::unreadable_form(state));
    };
    let p = Params::new(&pairs);
    let mut f = HashMap::new();
    for k in ["csrf", "token", "email", "name", "password", "password2"] {
        f.insert(
            k.to_string(),
            p.single(k).ok().flatten().unwrap_or("").to_owned(),
        );
    }
    let sess = match session::load(state, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return Err(csrf_refused(state)),
        Err(e) => return Err(failure(state, e)),
    };
    if !session::csrf_ok(&sess, f.get("csrf").map(String::as_str)) {
        return Err(csrf_refused(state));
    }
    Ok((f, sess))
}

fn password_problem(pw: &str, pw2: &str) -> Option<String> {
    if let Err(e) = authgate_authority::passwords::check_password_policy(pw) {
        let mut s = e.to_string();
        if let Some(c) = s.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        return Some(format!("{s}."));
    }
    (pw != pw2).then(|| "The two passwords differ.".to_string())
}

/// What is wrong with the first administrator's form, in a sentence.
async fn setup_problem(
    state: &AppState,
    email: &str,
    name: &str,
    password: &str,
    password2: &str,
) -> Result<Option<String>, StoreError> {
    if !authgate_authority::manage::valid_email(email) {
        return Ok(Some("Enter a valid email address.".into()));
    }
    if name.chars().count() > 200 {
        return Ok(Some("The name is too long.".into()));
    }
    if let Some(p) = password_problem(password, password2) {
        return Ok(Some(p));
    }
    Ok(state
        .store
        .get_user_by_email(email)
        .await?
        .map(|_| "That email already has an account; use another.".into()))
}

/// Stores the first administrator (and audits it).
async fn create_first_admin(
    state: &AppState,
    email: &str,
    name: &str,
    password: String,
) -> Result<User, Response> {
    let hash = state.passwords.hash(password, state.rng.clone()).await;
    if hash.is_empty() {
        return Err(failure(state, "password hashing failed"));
    }
    let id = secret::generate_id(state.rng.as_ref()).map_err(|e| failure(state, e))?;
    let user = User {
        id,
        email: email.to_owned(),
        name: (!name.is_empty()).then(|| name.to_owned()),
        password_hash: hash,
        disabled: false,
        role: Role::Admin,
        created_at: state.clock.now(),
        email_verified: false,
        signed_up: false,
    };
    if let Err(e) = state.store.insert_user(&user).await {
        return Err(failure(state, e));
    }
    authgate_authority::audit::audit_detail(
        state,
        "admin.setup.completed",
        Some(&user.email),
        None,
        None,
        None, // the request's client address
        "ok",
        json!({"user_id": user.id}),
    );
    Ok(user)
}

async fn setup_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (f, sess) = match form_and_session(&state, &headers, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let token = field("token");
    let email = field("email").trim().to_lowercase();
    let name = field("name").trim().to_owned();
    let again = |error: String| {
        page::render(
            &state,
            StatusCode::BAD_REQUEST,
            &SetupPage {
                page: PageCtx::new(&state),
                csrf: sess.csrf_token.clone(),
                token: token.clone(),
                email: email.clone(),
                name: name.clone(),
                error: Some(error),
            },
        )
    };
    match (
        peek(&state, &token, Purpose::AdminSetup).await,
        has_admin(&state).await,
    ) {
        (Ok(Some(_)), Ok(false)) => {}
        (Ok(_), Ok(_)) => return dead_link(&state),
        (Err(e), _) | (_, Err(e)) => return failure(&state, e),
    }
    let (password, password2) = (field("password"), field("password2"));
    match setup_problem(&state, &email, &name, &password, &password2).await {
        Ok(None) => {}
        Ok(Some(p)) => return again(p),
        Err(e) => return failure(&state, e),
    }
    match take(&state, &token, Purpose::AdminSetup).await {
        Ok(Some(_)) => {}
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    }
    let user = match create_first_admin(&state, &email, &name, password).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    remove_setup_link_file(&state);
    let ctx = authgate_core::model::AuthContext::password();
    // `[mfa] required` holds for the first administrator too: they set up
    // a second factor before they are signed in (then land on their
    // account page, one link from the dashboard).
    match authgate_authority::mfa::policy::after_password(&state, &user).await {
        Ok(authgate_authority::mfa::policy::AfterPassword::Done) => {}
        Ok(_) => return crate::endpoints::mfa::begin(&state, sess, &user.id, &ctx, "").await,
        Err(e) => return failure(&state, e),
    }
    // Signed in as the new administrator.
    let (_, raw) = match session::renew_for_user(&state, &sess, &user.id, &ctx).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = page::see_other(&format!("{}/admin", state.settings.issuer_path()));
    session::set_cookie(&state, &mut resp, &raw);
    resp
}

/// The person a link is for, while the link still fits them. A password
/// link: while their password is the one it was made against (a link made
/// before a reset, by another link or by the person, is dead). An
/// invitation (bound to the address it was mailed to): while the account
/// is enabled, still has that address and has no password yet (of two
/// invitations, only the first used works).
async fn link_user(state: &AppState, data: &Value) -> Result<Option<User>, StoreError> {
    let user = match data.get("user_id").and_then(Value::as_str) {
        Some(id) => state.store.get_user(id).await?,
        None => None,
    };
    let invitation =
        data.get("one_time_link").and_then(Value::as_str) == Some(Purpose::Invitation.as_str());
    Ok(user.filter(|u| {
        if invitation {
            !u.disabled
                && data.get("email").and_then(Value::as_str) == Some(u.email.as_str())
                && !authgate_authority::federation::link::has_password(u)
        } else {
            authgate_authority::setup_links::password_unchanged(data, &u.password_hash)
        }
    }))
}

async fn password_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    link_page(&state, &headers, &q, Purpose::PasswordReset).await
}

async fn invitation_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    link_page(&state, &headers, &q, Purpose::Invitation).await
}

async fn password_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    link_submit(&state, &headers, form, Purpose::PasswordReset).await
}

async fn invitation_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    link_submit(&state, &headers, form, Purpose::Invitation).await
}

/// The new-password form behind a password or invitation link.
async fn link_page(
    state: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    purpose: Purpose,
) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    let data = match peek(state, &token, purpose).await {
        Ok(Some(d)) => d,
        Ok(None) => return dead_link(state),
        Err(e) => return failure(state, e),
    };
    let user = match link_user(state, &data).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(state),
        Err(e) => return failure(state, e),
    };
    let (sess, raw, is_new) = match session::load_or_create(state, headers).await {
        Ok(x) => x,
        Err(e) => return failure(state, e),
    };
    let mut resp = page::render(
        state,
        StatusCode::OK,
        &PasswordPage {
            page: PageCtx::new(state),
            csrf: sess.csrf_token,
            token,
            email: user.email,
            error: None,
            invitation: purpose == Purpose::Invitation,
        },
    );
    if is_new {
        session::set_cookie(state, &mut resp, &raw);
    }
    resp
}

/// Sets the password a password or invitation link allows.
async fn link_submit(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
    purpose: Purpose,
) -> Response {
    let (f, sess) = match form_and_session(state, headers, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let token = field("token");
    let data = match peek(state, &token, purpose).await {
        Ok(Some(d)) => d,
        Ok(None) => return dead_link(state),
        Err(e) => return failure(state, e),
    };
    let mut user = match link_user(state, &data).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(state),
        Err(e) => return failure(state, e),
    };
    if let Some(p) = password_problem(&field("password"), &field("password2")) {
        return page::render(
            state,
            StatusCode::BAD_REQUEST,
            &PasswordPage {
                page: PageCtx::new(state),
                csrf: sess.csrf_token.clone(),
                token,
                email: user.email,
                error: Some(p),
                invitation: purpose == Purpose::Invitation,
            },
        );
    }
    match take(state, &token, purpose).await {
        Ok(Some(_)) => {}
        Ok(None) => return dead_link(state),
        Err(e) => return failure(state, e),
    }
    if purpose == Purpose::Invitation {
        // The invitation went to this address: the person received it.
        user.email_verified = true;
        authgate_authority::audit::audit_detail(
            state,
            "user.invitation.accepted",
            Some(&user.id),
            None,
            None,
            None,
            "ok",
            json!({"email": user.email}),
        );
    }
    user.password_hash = state
        .passwords
        .hash(field("password"), state.rng.clone())
        .await;
    if user.password_hash.is_empty() {
        return failure(state, "password hashing failed");
    }
    if let Err(e) = state.store.update_user(&user).await {
        return failure(state, e);
    }
    let (sessions, grants) =
        match authgate_authority::manage::end_sessions_and_grants(state, &user.id).await {
            Ok(n) => n,
            Err(e) => return failure(state, e),
        };
    authgate_authority::audit::audit_detail(
        state,
        "user.password_set",
        Some(&user.id),
        None,
        None,
        None, // the request's client address
        "ok",
        json!({
            "email": user.email,
            "via": "one-time link",
            "sessions_ended": sessions,
            "grants_revoked": grants,
        }),
    );
    // Told by mail, so a change they did not make does not go unnoticed.
    crate::mail::notify(
        state,
        crate::mail::request_locale(),
        &user,
        crate::mail::Mail::PasswordChanged,
    )
    .await;
    page::see_other(&format!(
        "{}/login?password_set=1",
        state.settings.issuer_path()
    ))
}
