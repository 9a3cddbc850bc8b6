//! Browser sessions: a random id in a cookie, the session itself in the
//! store (by the id's hash), so several instances share sessions.
//! Cookies are `HttpOnly`, `SameSite=Lax`, and `Secure` with the `__Host-`
//! prefix when the issuer is https. The id is renewed at sign-in.

use crate::app::AppState;
use authgate_core::authorize::AuthorizationRequest;
use authgate_core::model::Session;
use authgate_core::secret;
use authgate_store::StoreError;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// Pending authorization requests kept per session (several tabs).
const MAX_PENDING: usize = 10;
/// A pending request must be finished within this time.
pub const PENDING_TTL: i64 = 600;

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
        .filter(|v| v.len() == 43)
}

/// The browser's live session, if any.
pub async fn load(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, String)>, StoreError> {
    let Some(raw) = cookie_value(state, headers) else {
        return Ok(None);
    };
    let s = state
        .store
        .get_session(&secret::hash(&raw), state.clock.now())
        .await?;
    Ok(s.map(|s| (s, raw)))
}

/// Creates a fresh anonymous session. Returns it and the raw cookie value.
pub async fn create(state: &AppState, data: Value) -> Result<(Session, String), StoreError> {
    let raw = secret::generate(state.rng.as_ref())?;
    let now = state.clock.now();
    let s = Session {
        id_hash: secret::hash(&raw),
        user_id: None,
        csrf_token: secret::generate(state.rng.as_ref())?,
        auth_time: None,
        created_at: now,
        expires_at: now + state.settings.raw.session_ttl_secs,
        data,
    };
    state.store.insert_session(&s).await?;
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

/// Sign-in: a new session id (defeats fixation) carrying the old data.
pub async fn renew_for_user(
    state: &AppState,
    old: &Session,
    user_id: &str,
) -> Result<(Session, String), StoreError> {
    let (mut s, raw) = create(state, old.data.clone()).await?;
    s.user_id = Some(user_id.to_owned());
    s.auth_time = Some(state.clock.now());
    state.store.update_session(&s).await?;
    state.store.delete_session(&old.id_hash).await?;
    Ok((s, raw))
}

pub fn set_cookie(state: &AppState, resp: &mut Response, raw: &str) {
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{}={raw}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        cookie_name(state),
        state.settings.raw.session_ttl_secs
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
