//! One-time links: first-run setup of the first administrator, and the
//! links where a person sets a (new) password.
//!
//! A link carries 256 random bits; only a hash is stored, in a session-like
//! record (the session table: it expires and is purged like a session, and
//! several instances share it). The stored hash is of a prefixed value, so
//! a link can never be replayed as a session cookie. Using a link deletes
//! it first: of two concurrent uses exactly one proceeds.

use super::types::OneTimeLink;
use crate::app::{AppState, SharedState};
use crate::http::form::FormPairs;
use crate::pages::{self, PageCtx, session};
use askama::Template;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Session, User};
use authgate_core::random::Random;
use authgate_core::secret;
use authgate_core::token_request::Params;
use authgate_store::{Store, StoreError};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;

/// How long the first-run setup link is valid.
pub const SETUP_LINK_TTL: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    AdminSetup,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::AdminSetup => "admin_setup",
            Purpose::PasswordReset => "password_reset",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Purpose::AdminSetup => "/admin/setup",
            Purpose::PasswordReset => "/password",
        }
    }
}

fn record_key(raw: &str) -> String {
    secret::hash(&format!("authgate-one-time-link:{raw}"))
}

/// Creates a link; returns its URL (the only place the secret appears).
pub async fn create_link(
    state: &AppState,
    purpose: Purpose,
    user_id: Option<&str>,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    create_link_in(
        state.store.as_ref(),
        &state.settings.issuer,
        state.rng.as_ref(),
        state.clock.now(),
        purpose,
        user_id,
        ttl,
    )
    .await
}

/// [`create_link`] on a store directly (the CLI, offline).
pub async fn create_link_in(
    store: &dyn Store,
    issuer: &str,
    rng: &dyn Random,
    now: UnixTime,
    purpose: Purpose,
    user_id: Option<&str>,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    let raw = secret::generate(rng)?;
    let rec = Session {
        id_hash: record_key(&raw),
        user_id: None,
        csrf_token: secret::generate(rng)?,
        auth_time: None,
        created_at: now,
        expires_at: now + ttl,
        data: json!({"one_time_link": purpose.as_str(), "user_id": user_id}),
    };
    store.insert_session(&rec).await?;
    Ok(OneTimeLink {
        url: format!("{issuer}{}?token={raw}", purpose.path()),
        expires_at: now + ttl,
    })
}

fn plausible(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link's record when it is live and for `purpose` (not consumed).
async fn peek(state: &AppState, raw: &str, purpose: Purpose) -> Result<Option<Value>, StoreError> {
    if !plausible(raw) {
        return Ok(None);
    }
    let rec = state
        .store
        .get_session(&record_key(raw), state.clock.now())
        .await?;
    Ok(rec
        .map(|r| r.data)
        .filter(|d| d.get("one_time_link").and_then(Value::as_str) == Some(purpose.as_str())))
}

/// Consumes the link: `Some(data)` for exactly one caller.
async fn take(state: &AppState, raw: &str, purpose: Purpose) -> Result<Option<Value>, StoreError> {
    let Some(data) = peek(state, raw, purpose).await? else {
        return Ok(None);
    };
    if state.store.delete_session(&record_key(raw)).await? {
        Ok(Some(data))
    } else {
        Ok(None)
    }
}

pub async fn has_admin(state: &AppState) -> Result<bool, StoreError> {
    store_has_admin(state.store.as_ref()).await
}

/// Whether an enabled administrator exists.
pub async fn store_has_admin(store: &dyn Store) -> Result<bool, StoreError> {
    Ok(store
        .list_users()
        .await?
        .iter()
        .any(|u| u.is_admin && !u.disabled))
}

/// The file in the data directory that holds the first-run setup link.
pub const SETUP_LINK_FILE: &str = "setup-link";

/// Where the first-run setup link is written.
pub fn setup_link_path(state: &AppState) -> std::path::PathBuf {
    state.settings.raw.data_dir.join(SETUP_LINK_FILE)
}

/// First run: when there is no administrator, creates a setup link and
/// hands it to the operator. The link creates an administrator, so it is a
/// secret: it goes to `<data_dir>/setup-link` (mode 0600) and, when stderr
/// is a terminal, to the terminal; the log (often shipped elsewhere) only
/// says where the file is. Returns the link.
pub async fn announce(state: &AppState) -> Option<String> {
    match has_admin(state).await {
        Ok(true) => return None,
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not check for an administrator");
            return None;
        }
    }
    let link = match create_link(state, Purpose::AdminSetup, None, SETUP_LINK_TTL).await {
        Ok(link) => link,
        Err(e) => {
            tracing::error!(error = %e, "could not create the setup link");
            return None;
        }
    };
    let path = setup_link_path(state);
    match write_secret_file(&path, &format!("{}\n", link.url)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "no administrator yet: the one-time setup link (valid {} minutes) is in this file",
            SETUP_LINK_TTL / 60
        ),
        Err(e) => tracing::error!(
            path = %path.display(),
            error = %e,
            "no administrator yet, and the setup link file could not be written; run `authgate admin setup-link` or `authgate admin create`"
        ),
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "\nNo administrator yet. Create the first admin account within {} minutes at:\n\n  {}\n\n(single use; or run `authgate admin create --email you@example.com` offline)\n",
            SETUP_LINK_TTL / 60,
            link.url
        );
    }
    Some(link.url)
}

/// Writes `contents` to a new file readable by its owner only. A file left
/// at `path` (an older link) is removed first; the new one is created
/// exclusively, so a link planted at the path (a symlink to elsewhere) is
/// never followed.
fn write_secret_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Setup is done: the link is spent, so its file goes.
fn remove_setup_link_file(state: &AppState) {
    let path = setup_link_path(state);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "setup complete; removed the setup link file")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the setup link file")
        }
    }
}

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
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on a one-time link page");
    pages::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
        "Try again in a moment.",
    )
}

fn dead_link(state: &AppState) -> Response {
    pages::error_page(
        state,
        StatusCode::NOT_FOUND,
        "This link does not work",
        "The link is unknown, was already used, or has expired.",
        "Ask an administrator for a new link.",
    )
}

fn csrf_refused(state: &AppState) -> Response {
    pages::error_page(
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
    let mut resp = pages::render(
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
    if let Err(e) = crate::passwords::check_password_policy(pw) {
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
    if !super::ops::valid_email(email) {
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
        is_admin: true,
        created_at: state.clock.now(),
    };
    if let Err(e) = state.store.insert_user(&user).await {
        return Err(failure(state, e));
    }
    crate::telemetry::audit_detail(
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
        pages::render(
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
    // Signed in as the new administrator.
    let (_, raw) = match session::renew_for_user(&state, &sess, &user.id).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = pages::see_other(&format!("{}/admin", state.settings.issuer_path()));
    session::set_cookie(&state, &mut resp, &raw);
    resp
}

async fn link_user(state: &AppState, data: &Value) -> Result<Option<User>, StoreError> {
    match data.get("user_id").and_then(Value::as_str) {
        Some(id) => state.store.get_user(id).await,
        None => Ok(None),
    }
}

async fn password_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    let data = match peek(&state, &token, Purpose::PasswordReset).await {
        Ok(Some(d)) => d,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    let user = match link_user(&state, &data).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    let (sess, raw, is_new) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return failure(&state, e),
    };
    let mut resp = pages::render(
        &state,
        StatusCode::OK,
        &PasswordPage {
            page: PageCtx::new(&state),
            csrf: sess.csrf_token,
            token,
            email: user.email,
            error: None,
        },
    );
    if is_new {
        session::set_cookie(&state, &mut resp, &raw);
    }
    resp
}

async fn password_submit(
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
    let data = match peek(&state, &token, Purpose::PasswordReset).await {
        Ok(Some(d)) => d,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    let mut user = match link_user(&state, &data).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    };
    if let Some(p) = password_problem(&field("password"), &field("password2")) {
        return pages::render(
            &state,
            StatusCode::BAD_REQUEST,
            &PasswordPage {
                page: PageCtx::new(&state),
                csrf: sess.csrf_token.clone(),
                token,
                email: user.email,
                error: Some(p),
            },
        );
    }
    match take(&state, &token, Purpose::PasswordReset).await {
        Ok(Some(_)) => {}
        Ok(None) => return dead_link(&state),
        Err(e) => return failure(&state, e),
    }
    user.password_hash = state
        .passwords
        .hash(field("password"), state.rng.clone())
        .await;
    if user.password_hash.is_empty() {
        return failure(&state, "password hashing failed");
    }
    if let Err(e) = state.store.update_user(&user).await {
        return failure(&state, e);
    }
    let (sessions, grants) =
        match crate::admin::ops::end_everything_after_password_change(&state, &user.id).await {
            Ok(n) => n,
            Err(e) => return failure(&state, e),
        };
    crate::telemetry::audit_detail(
        &state,
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
    pages::see_other(&format!(
        "{}/login?password_set=1",
        state.settings.issuer_path()
    ))
}
