//! The admin dashboard: server-rendered pages for signed-in administrators,
//! with the sign-in pages' look and rules (CSRF token of the session on
//! every form, security headers on every page, no inline script or style).
//! Not signed in: to the sign-in page and back. Signed in without
//! `is_admin`: 403.

mod audit;
mod clients;
mod keys;
mod reauth;
use reauth::require_recent_password;
mod servers;
mod users;

use crate::app::{AppState, SharedState};
use crate::http::form::FormPairs;
use crate::pages::{self, PageCtx, session};
use askama::Template;
use authgate_authority::manage::{Actor, AdminError};
use authgate_core::model::{Session, User};
use authgate_core::token_request::Params;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;

pub fn router(base: &str) -> Router<SharedState> {
    let at = |p: &str| format!("{base}/admin{p}");
    Router::new()
        .route(&at(""), get(servers::list))
        .route(&at("/"), get(servers::list))
        .route(&at("/assets/admin.css"), get(stylesheet))
        .route(&at("/assets/admin.js"), get(script))
        .route(&at("/servers"), get(servers::list).post(servers::create))
        .route(&at("/servers/new"), get(servers::new_form))
        .route(&at("/servers/{id}"), get(servers::detail))
        .route(
            &at("/servers/{id}/edit"),
            get(servers::edit_form).post(servers::update),
        )
        .route(
            &at("/servers/{id}/delete"),
            get(servers::delete_confirm).post(servers::delete),
        )
        .route(&at("/servers/{id}/check"), post(servers::check))
        .route(&at("/clients"), get(clients::list).post(clients::create))
        .route(&at("/clients/secret"), post(clients::rotate))
        .route(&at("/clients/block"), post(clients::block))
        .route(&at("/clients/unblock"), post(clients::unblock))
        .route(
            &at("/clients/delete"),
            get(clients::delete_confirm).post(clients::delete),
        )
        .route(&at("/users"), get(users::list).post(users::create))
        .route(&at("/users/{id}"), get(users::detail))
        .route(&at("/users/{id}/disable"), post(users::disable))
        .route(&at("/users/{id}/enable"), post(users::enable))
        .route(&at("/users/{id}/password-link"), post(users::password_link))
        .route(&at("/users/{id}/revoke"), post(users::revoke))
        .route(&at("/keys"), get(keys::list))
        .route(&at("/keys/rotate"), post(keys::rotate))
        .route(&at("/keys/retire"), post(keys::retire))
        .route(&at("/audit"), get(audit::list))
}

const CSS: &str = include_str!("../../../assets/admin.css");
const JS: &str = include_str!("../../../assets/admin.js");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

/// Where `/login` sends an administrator back to (set when the dashboard
/// sent them to sign in). Only dashboard paths on this server.
pub fn after_login(state: &AppState, s: &Session) -> Option<String> {
    let to = s.data.get("after_login")?.as_str()?;
    let prefix = format!("{}/admin", state.settings.issuer_path());
    let ok = to.starts_with(&prefix)
        && !to.contains("//")
        && !to.contains('\\')
        && to.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| to.to_owned())
}

/// What every dashboard page shows: the layout's navigation and the form token.
pub struct AdminCtx {
    pub page: PageCtx,
    pub csrf: String,
    pub user_email: String,
    pub section: &'static str,
}

/// A signed-in administrator.
pub struct AdminSession {
    pub session: Session,
    pub user: User,
    pub actor: Actor,
}

impl AdminSession {
    pub fn ctx(&self, state: &AppState, section: &'static str) -> AdminCtx {
        AdminCtx {
            page: PageCtx::new(state),
            csrf: self.session.csrf_token.clone(),
            user_email: self.user.email.clone(),
            section,
        }
    }
}

pub fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard failure");
    pages::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
        "Try again in a moment.",
    )
}

/// Renders a dashboard page: the pages' security headers, plus our own
/// script (the copy buttons) and form targets limited to this server.
pub fn render(state: &AppState, status: StatusCode, t: &impl Template) -> Response {
    let mut resp = pages::render(state, status, t);
    let csp = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("{v}; script-src 'self'; form-action 'self'"));
    if let Some(v) = csp.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// The admin shown on an [`AdminError`]: a readable page.
pub fn error(state: &AppState, e: AdminError) -> Response {
    match e {
        AdminError::NotFound(m) => pages::error_page(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            &m,
            "Go back to the list and try again.",
        ),
        AdminError::Store(_) | AdminError::Internal(_) => failure(state, e),
        other => pages::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "That did not work",
            &other.message(),
            "Go back, correct it and try again.",
        ),
    }
}

/// The signed-in administrator, or the response to send instead: to the
/// sign-in page (coming back to `here`), or 403.
pub async fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    peer: &ConnectInfo<SocketAddr>,
    here: &str,
) -> Result<AdminSession, Response> {
    let base = state.settings.issuer_path().to_owned();
    let loaded = match session::load(state, headers).await {
        Ok(s) => s,
        Err(e) => return Err(failure(state, e)),
    };
    let user = match loaded.as_ref().and_then(|(s, _)| s.user_id.clone()) {
        None => None,
        Some(uid) => match state.store.get_user(&uid).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => return Err(failure(state, e)),
        },
    };
    let Some(user) = user else {
        // Remember where to come back to, then sign in.
        let (mut s, raw, is_new) = match loaded {
            Some((s, raw)) => (s, raw, false),
            None => match session::create(state, json!({})).await {
                Ok((s, raw)) => (s, raw, true),
                Err(e) => return Err(failure(state, e)),
            },
        };
        if !s.data.is_object() {
            s.data = json!({});
        }
        if let Some(o) = s.data.as_object_mut() {
            o.insert("after_login".into(), Value::String(here.to_owned()));
        }
        // A visitor's "come back here" rides in their pre-session cookie.
        let new_cookie = match session::save(state, &s).await {
            Ok(c) => c,
            Err(e) => return Err(failure(state, e)),
        };
        let mut resp = pages::see_other(&format!("{base}/login"));
        if let Some(c) = new_cookie {
            session::set_cookie(state, &mut resp, &c);
        } else if is_new {
            session::set_cookie(state, &mut resp, &raw);
        }
        return Err(resp);
    };
    let Some((session, _)) = loaded else {
        return Err(pages::see_other(&format!("{base}/login")));
    };
    if !user.is_admin {
        return Err(pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Administrators only",
            "Your account is not an administrator of this server.",
            "Ask an administrator if you need access.",
        ));
    }
    Ok(AdminSession {
        actor: Actor {
            name: user.email.clone(),
            // The client address by the one rule (a trusted proxy's
            // X-Forwarded-For), as the middleware worked it out.
            address: Some(
                authgate_authority::audit::current_client_address()
                    .unwrap_or(peer.0.ip())
                    .to_string(),
            ),
        },
        session,
        user,
    })
}

/// A submitted dashboard form: its fields, after the admin and CSRF checks.
pub struct Submitted {
    pub admin: AdminSession,
    pub pairs: Vec<(String, String)>,
}

impl Submitted {
    pub fn get(&self, k: &str) -> String {
        Params::new(&self.pairs)
            .single(k)
            .ok()
            .flatten()
            .unwrap_or("")
            .to_owned()
    }
    /// Every value of a repeated field, empty ones included (so that the
    /// columns of a table of inputs stay aligned).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn checked(&self, k: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == k)
    }
}

pub async fn submitted(
    state: &AppState,
    headers: &HeaderMap,
    peer: &ConnectInfo<SocketAddr>,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Result<Submitted, Response> {
    let here = format!("{}/admin", state.settings.issuer_path());
    let admin = require_admin(state, headers, peer, &here).await?;
    let Ok(FormPairs(pairs)) = form else {
        return Err(pages::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
            "Go back and try again.",
        ));
    };
    let csrf = Params::new(&pairs)
        .single("csrf")
        .ok()
        .flatten()
        .map(str::to_owned);
    if !session::csrf_ok(&admin.session, csrf.as_deref()) {
        return Err(pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form did not come from this page (CSRF check failed).",
            "Reload the page and try again.",
        ));
    }
    Ok(Submitted { admin, pairs })
}

/// UTC date and time for tables.
pub fn when(t: Option<i64>) -> String {
    crate::cli::output::time(t)
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Seconds as a short duration ("15 min", "14 days").
pub fn duration(secs: i64) -> String {
    match secs {
        s if s % 86400 == 0 && s >= 86400 => {
            format!("{} day{}", s / 86400, if s == 86400 { "" } else { "s" })
        }
        s if s % 3600 == 0 && s >= 3600 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
