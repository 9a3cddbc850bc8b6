//! Browser sessions.
//!
//! A visitor who has not signed in has a *pre-session*: its CSRF token and
//! pending authorization requests travel in the cookie itself, signed with
//! a subkey of the key-encryption key (HMAC-SHA256, so any instance sharing
//! the KEK accepts it), with an expiry inside. Nothing is written to the
//! store for a visitor: a flood of cookie-less `GET /login` costs no row.
//! The store gets a session only at sign-in (a random id in the cookie, the
//! session by the id's hash, so several instances share it); the id is new
//! at sign-in (no fixation) and the pre-session's data moves into it.
//!
//! Cookies are `HttpOnly`, `SameSite=Lax`, and `Secure` with the `__Host-`
//! prefix when the issuer is https.

use crate::state::AppState;
use authgate_core::authorize::AuthorizationRequest;
use authgate_core::model::{AuthContext, Session};
use authgate_core::secret;
use authgate_store::StoreError;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// Pending authorization requests kept per session (several tabs).
const MAX_PENDING: usize = 10;
/// A pending request must be finished within this time.
pub const PENDING_TTL: i64 = 600;
/// How long a pre-session lasts (a sign-in form left open this long must
/// be reloaded).
pub const PRE_SESSION_TTL: i64 = 3600;
/// Largest pre-session cookie value: browsers keep cookies up to 4096
/// bytes (name and attributes included). Oldest pending requests are let
/// go to stay under it.
const MAX_PRE_SESSION_COOKIE: usize = 3800;
/// Marks a pre-session cookie value (a stored session's is 43 characters
/// of base64url, which never contain a dot).
const PRE_SESSION_PREFIX: &str = "p1.";
/// Session data key of the [`AuthContext`] a signed-in session was made with.
const AUTH_KEY: &str = "auth";
/// Session data key of a sign-in waiting for its second factor.
const SECOND_FACTOR_KEY: &str = "second_factor";
/// How long a person has to give the second factor after the first.
pub const SECOND_FACTOR_TTL: i64 = 300;

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.is_https() {
        "__Host-authgate_session"
    } else {
        "authgate_session"
    }
}

fn cookie_value(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 43 || (v.starts_with(PRE_SESSION_PREFIX) && v.len() <= 4096))
}

/// Whether `s` is a pre-session (lives in the cookie, not the store).
pub fn is_pre_session(s: &Session) -> bool {
    s.id_hash.is_empty()
}

/// The signed cookie value that carries a pre-session.
fn seal_pre_session(state: &AppState, s: &Session) -> String {
    let payload = json!({
        "csrf": s.csrf_token,
        "iat": s.created_at,
        "exp": s.expires_at,
        "data": s.data,
    });
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tag = state
        .kek
        .sign_cookie(format!("{PRE_SESSION_PREFIX}{body}").as_bytes());
    format!("{PRE_SESSION_PREFIX}{body}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The pre-session in a cookie value, when its signature holds and it has
/// not expired.
fn open_pre_session(state: &AppState, raw: &str) -> Option<Session> {
    let (signed, tag) = raw.rsplit_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if !state.kek.verify_cookie(signed.as_bytes(), &tag) {
        return None;
    }
    let body = signed.strip_prefix(PRE_SESSION_PREFIX)?;
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let exp = payload.get("exp")?.as_i64()?;
    if exp <= state.clock.now() {
        return None;
    }
    Some(Session {
        id_hash: String::new(),
        user_id: None,
        csrf_token: payload.get("csrf")?.as_str()?.to_owned(),
        auth_time: None,
        created_at: payload.get("iat")?.as_i64()?,
        expires_at: exp,
        data: payload.get("data").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The browser's live session (signed in or pre-session), if any, and the
/// raw cookie value.
pub async fn load(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, String)>, StoreError> {
    let Some(raw) = cookie_value(state, headers) else {
        return Ok(None);
    };
    if raw.starts_with(PRE_SESSION_PREFIX) {
        return Ok(open_pre_session(state, &raw).map(|s| (s, raw)));
    }
    let s = state
        .store
        .get_session(&secret::hash(&raw), state.clock.now())
        .await?;
    Ok(s.map(|s| (s, raw)))
}

/// A fresh pre-session (nothing stored). Returns it and its cookie value.
pub async fn create(state: &AppState, data: Value) -> Result<(Session, String), StoreError> {
    let now = state.clock.now();
    let s = Session {
        id_hash: String::new(),
        user_id: None,
        csrf_token: secret::generate(state.rng.as_ref())?,
        auth_time: None,
        created_at: now,
        expires_at: now + PRE_SESSION_TTL,
        data,
    };
    let raw = seal_pre_session(state, &s);
    Ok((s, raw))
}

pub async fn load_or_create(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Session, String, bool), StoreError> {
    match load(state, headers).await? {
        Some((s, raw)) => Ok((s, raw, false)),
        None => {
            let (s, raw) = create(state, json!({})).await?;
            Ok((s, raw, true))
        }
    }
}

/// Keeps a changed session: a stored one is updated (`None`); a
/// pre-session becomes a new cookie value the response must set
/// (`Some`). Pending requests beyond what a cookie holds are let go,
/// oldest first; `Err` only when the newest alone is too large.
pub async fn save(state: &AppState, s: &Session) -> Result<Option<String>, SaveError> {
    if !is_pre_session(s) {
        state.store.update_session(s).await?;
        return Ok(None);
    }
    let mut s = s.clone();
    loop {
        let raw = seal_pre_session(state, &s);
        if raw.len() <= MAX_PRE_SESSION_COOKIE {
            return Ok(Some(raw));
        }
        if !drop_oldest_pending(&mut s) {
            return Err(SaveError::TooLarge);
        }
    }
}

/// Why [`save`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A pre-session cannot carry the request (a very long `state` or
    /// client id): the browser would drop the cookie.
    #[error("the authorization request is too large to keep for this browser")]
    TooLarge,
}

/// Drops the oldest pending request but one (the newest stays, so the
/// request being started survives). `false` when only one is left.
fn drop_oldest_pending(s: &mut Session) -> bool {
    let Some(mut map) = s.data.get("pending").and_then(|p| p.as_object().cloned()) else {
        return false;
    };
    if map.len() <= 1 {
        return false;
    }
    let oldest = map
        .iter()
        .min_by_key(|(_, v)| v.get("created_at").and_then(Value::as_i64).unwrap_or(0))
        .map(|(k, _)| k.clone());
    if let Some(k) = oldest {
        map.remove(&k);
    }
    set_pending_map(s, map);
    true
}

/// Sign-in: the first stored session, with a new id (defeats fixation),
/// carrying the old session's data and how the person signed in (`ctx`,
/// read back by [`auth_context`]). A stored session being replaced (a
/// second sign-in) is deleted, and so is any half-finished sign-in
/// ([`begin_second_factor`]).
pub async fn renew_for_user(
    state: &AppState,
    old: &Session,
    user_id: &str,
    ctx: &AuthContext,
) -> Result<(Session, String), StoreError> {
    let raw = secret::generate(state.rng.as_ref())?;
    let now = state.clock.now();
    let mut data = old.data.clone();
    if !data.is_object() {
        data = json!({});
    }
    if let Some(o) = data.as_object_mut() {
        o.remove(SECOND_FACTOR_KEY);
        o.insert(
            AUTH_KEY.into(),
            serde_json::to_value(ctx).unwrap_or(Value::Null),
        );
    }
    let s = Session {
        id_hash: secret::hash(&raw),
        user_id: Some(user_id.to_owned()),
        csrf_token: secret::generate(state.rng.as_ref())?,
        auth_time: Some(now),
        created_at: now,
        expires_at: now + state.settings.raw.session_ttl_secs,
        data,
    };
    state.store.insert_session(&s).await?;
    if !is_pre_session(old) {
        state.store.delete_session(&old.id_hash).await?;
    }
    Ok((s, raw))
}

pub fn set_cookie(state: &AppState, resp: &mut Response, raw: &str) {
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    let max_age = if raw.starts_with(PRE_SESSION_PREFIX) {
        PRE_SESSION_TTL
    } else {
        state.settings.raw.session_ttl_secs
    };
    let v = format!(
        "{}={raw}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state),
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub fn clear_cookie(state: &AppState, resp: &mut Response) {
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        cookie_name(state)
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Constant-time CSRF check against the session's token.
pub fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| p.as_bytes().ct_eq(session.csrf_token.as_bytes()).into())
}

pub fn pending(session: &Session, rid: &str, now: i64) -> Option<AuthorizationRequest> {
    let v = session.data.get("pending")?.get(rid)?;
    let req: AuthorizationRequest = serde_json::from_value(v.clone()).ok()?;
    (now - req.created_at <= PENDING_TTL).then_some(req)
}

/// Adds a pending request; returns its id. Oldest and expired ones go first.
pub fn add_pending(session: &mut Session, rid: &str, req: &AuthorizationRequest, now: i64) {
    let mut map = session
        .data
        .get("pending")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    map.retain(|_, v| {
        v.get("created_at")
            .and_then(Value::as_i64)
            .is_some_and(|t| now - t <= PENDING_TTL)
    });
    while map.len() >= MAX_PENDING {
        let oldest = map
            .iter()
            .min_by_key(|(_, v)| v.get("created_at").and_then(Value::as_i64).unwrap_or(0))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => {
                map.remove(&k);
            }
            None => break,
        }
    }
    map.insert(
        rid.to_owned(),
        serde_json::to_value(req).unwrap_or(Value::Null),
    );
    set_pending_map(session, map);
}

pub fn remove_pending(session: &mut Session, rid: &str) {
    if let Some(mut map) = session
        .data
        .get("pending")
        .and_then(|p| p.as_object().cloned())
    {
        map.remove(rid);
        set_pending_map(session, map);
    }
}

fn set_pending_map(session: &mut Session, map: serde_json::Map<String, Value>) {
    if !session.data.is_object() {
        session.data = json!({});
    }
    if let Some(o) = session.data.as_object_mut() {
        o.insert("pending".into(), Value::Object(map));
    }
}

/// How the signed-in person of `session` signed in. Sessions made before
/// this was recorded read as a password sign-in.
pub fn auth_context(session: &Session) -> AuthContext {
    session
        .data
        .get(AUTH_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_else(AuthContext::password)
}

/// The person `session` is signed in as — the one test of "signed in"
/// every page, the consent step, `/authorize` and the dashboard use. A
/// pre-session is nobody; so is a session holding a sign-in that waits for
/// its second factor ([`begin_second_factor`]), expired or not, even when
/// it was someone's before: half a sign-in reaches nothing until it is
/// finished (which makes a new session) or started again.
pub fn signed_in_user(session: &Session) -> Option<&str> {
    if is_pre_session(session) || session.data.get(SECOND_FACTOR_KEY).is_some() {
        return None;
    }
    session.user_id.as_deref()
}

/// A sign-in whose first factor passed and whose second is still owed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecondFactorPending {
    pub user_id: String,
    /// What was used so far (e.g. `["pwd"]`, plus `idp`/`org_id`).
    pub ctx: AuthContext,
    /// Unix time after which the first factor must be given again.
    pub expires_at: i64,
}

/// Records in the (pre-)session that `user_id` passed the first factor
/// (`ctx`) and owes a second one. The session is not signed in: nothing
/// that needs a signed-in person (consent, the account page) accepts it.
/// The caller saves the session ([`save`]).
pub fn begin_second_factor(session: &mut Session, user_id: &str, ctx: &AuthContext, now: i64) {
    if !session.data.is_object() {
        session.data = json!({});
    }
    let pending = SecondFactorPending {
        user_id: user_id.to_owned(),
        ctx: ctx.clone(),
        expires_at: now + SECOND_FACTOR_TTL,
    };
    if let Some(o) = session.data.as_object_mut() {
        o.insert(
            SECOND_FACTOR_KEY.into(),
            serde_json::to_value(pending).unwrap_or(Value::Null),
        );
    }
}

/// The sign-in waiting for its second factor in `session`, unless it has
/// expired.
pub fn second_factor_pending(session: &Session, now: i64) -> Option<SecondFactorPending> {
    let p: SecondFactorPending =
        serde_json::from_value(session.data.get(SECOND_FACTOR_KEY)?.clone()).ok()?;
    (p.expires_at > now).then_some(p)
}
