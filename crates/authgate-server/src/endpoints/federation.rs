//! Sign-in through an upstream identity provider (OpenID Connect, GitHub):
//!
//! - `GET /federation/{id}/start?r=…&login_hint=…` keeps the flow's
//!   `state`, `nonce`, PKCE verifier and the pending request id in this
//!   browser's session and sends the browser to the upstream;
//! - `GET /federation/{id}/callback` (each connection has its own redirect
//!   URI, so an answer meant for one upstream is never taken for
//!   another's) finds the flow by `state` in *this browser's* session,
//!   spends it, and lets the authority finish it (code exchange, ID token,
//!   nonce); then the one linking rule, the organization, and the one end
//!   of every sign-in (`pages::sign_in::complete`);
//! - `POST /federation/link`: a person whose verified upstream email
//!   belongs to a local account with a password confirms the link with
//!   that password.
//!
//! Failures are pages a person understands and audit events
//! (`federation.sign_in.failed` with the reason); upstream tokens and codes
//! never reach a log.

use crate::http::client_address::ClientAddress;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::audit::audit_detail;
use authgate_authority::federation::identity::UpstreamIdentity;
use authgate_authority::federation::link::{self, LinkError, LinkOutcome};
use authgate_authority::federation::manage::redirect_uri;
use authgate_authority::federation::oidc::{self, Callback, PendingFlow, UpstreamError};
use authgate_core::connection::{ConnectionKind, valid_connection_id};
use authgate_core::model::{AuthContext, Session};
use authgate_core::token_request::Params;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Session data key of the flows started in this browser (by `state`).
const FLOWS_KEY: &str = "federation";
/// Session data key of an upstream sign-in waiting for the person's
/// password to link ([`LinkOutcome::NeedsConfirmation`]).
const LINK_KEY: &str = "federation_link";
/// Flows kept per browser (several tabs); the oldest goes first.
const MAX_FLOWS: usize = 4;
/// How long the link confirmation may take.
const LINK_TTL: i64 = 600;

#[derive(Template)]
#[template(path = "federation_link.html")]
struct LinkPage {
    page: PageCtx,
    csrf: String,
    email: String,
    provider: String,
    error: Option<&'static str>,
}

/// The page asking for the existing account's password (rendered here,
/// so the page context is not held across an await).
fn link_page(
    state: &AppState,
    sess: &Session,
    email: String,
    provider: String,
    error: Option<&'static str>,
) -> Response {
    let page = LinkPage {
        page: PageCtx::new(state),
        csrf: sess.csrf_token.clone(),
        email,
        provider,
        error,
    };
    page::render(state, StatusCode::OK, &page)
}

fn unavailable(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::NOT_FOUND,
        msg("Sign-in option not available"),
        msg("This sign-in option does not exist or is turned off."),
        msg("Go back and sign in another way, or ask your administrator."),
    )
}

fn failure(state: &AppState, e: &UpstreamError) -> Response {
    let (status, message, advice) = match e {
        UpstreamError::Denied => (
            StatusCode::FORBIDDEN,
            msg("The sign-in was cancelled or refused at your identity provider."),
            msg("Go back to the app and connect again if you want to continue."),
        ),
        UpstreamError::Unreachable(authgate_authority::outbound::FetchError::Timeout(_)) => (
            StatusCode::GATEWAY_TIMEOUT,
            msg("Your identity provider did not answer in time."),
            msg("Try again in a moment."),
        ),
        UpstreamError::Unreachable(_) => (
            StatusCode::BAD_GATEWAY,
            msg("Your identity provider could not be reached."),
            msg("Try again in a moment."),
        ),
        UpstreamError::BadState => (
            StatusCode::BAD_REQUEST,
            msg(
                "This sign-in was not started in this browser, took too long, or was already used.",
            ),
            msg("Go back to the app and connect again."),
        ),
        UpstreamError::Misconfigured(_) | UpstreamError::Discovery(_) => (
            StatusCode::BAD_GATEWAY,
            msg("This sign-in option is not set up correctly."),
            msg("Ask your administrator, or sign in another way."),
        ),
        UpstreamError::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            msg("The server could not complete the sign-in."),
            msg("Try again in a moment."),
        ),
        _ => (
            StatusCode::BAD_GATEWAY,
            msg("Your identity provider's answer could not be accepted, so you are not signed in."),
            msg(
                "Go back to the app and connect again. If it happens again, tell your administrator.",
            ),
        ),
    };
    page::error_page(state, status, msg("Sign-in failed"), message, advice)
}

fn link_failure(state: &AppState, e: &LinkError) -> Response {
    let (status, message) = match e {
        LinkError::UnknownConnection | LinkError::ConnectionDisabled => return unavailable(state),
        LinkError::Disabled => (
            StatusCode::FORBIDDEN,
            msg("This account is disabled. Ask an administrator of this server to enable it."),
        ),
        LinkError::NoEmail => (
            StatusCode::FORBIDDEN,
            msg(
                "Your identity provider did not share your email address, so no account can be made for you.",
            ),
        ),
        LinkError::EmailNotVerified => (
            StatusCode::FORBIDDEN,
            msg(
                "Your identity provider has not verified your email address, so no account can be made for you.",
            ),
        ),
        LinkError::EmailInUse => (
            StatusCode::FORBIDDEN,
            msg(
                "An account with your email address already exists, and it cannot be linked to this identity provider.",
            ),
        ),
        LinkError::BadPassword | LinkError::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            msg("The server could not complete the sign-in."),
        ),
    };
    if let LinkError::Store(e) = e {
        tracing::error!(error = %e, "storage failure on upstream sign-in");
    }
    page::error_page(
        state,
        status,
        msg("Sign-in failed"),
        message,
        msg("Sign in another way, or ask your administrator."),
    )
}

fn audit_failure(state: &AppState, connection: &str, reason: &str, detail: &str) {
    audit_detail(
        state,
        "federation.sign_in.failed",
        None,
        None,
        None,
        None,
        reason,
        json!({"connection": connection, "detail": detail}),
    );
}

/// The flows kept in `s`, unexpired.
fn flows(s: &Session, now: i64) -> Vec<PendingFlow> {
    s.data
        .get(FLOWS_KEY)
        .and_then(|v| serde_json::from_value::<Vec<PendingFlow>>(v.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| now - f.created_at <= oidc::FLOW_TTL)
        .collect()
}

fn set_data(s: &mut Session, key: &str, v: Value) {
    if !s.data.is_object() {
        s.data = json!({});
    }
    if let Some(o) = s.data.as_object_mut() {
        if v.is_null() {
            o.remove(key);
        } else {
            o.insert(key.into(), v);
        }
    }
}

/// Saves `s` and sets its cookie on `resp` when it is a pre-session.
async fn save_into(state: &AppState, s: &Session, mut resp: Response) -> Response {
    match session::save(state, s).await {
        Ok(Some(raw)) => {
            session::set_cookie(state, &mut resp, &raw);
            resp
        }
        Ok(None) => resp,
        Err(session::SaveError::Store(e)) => crate::endpoints::login::store_failure(state, e),
        Err(session::SaveError::TooLarge) => page::error_page(
            state,
            StatusCode::BAD_REQUEST,
            msg("Sign-in failed"),
            msg("Too many sign-ins are open in this browser."),
            msg("Close the other sign-in tabs, go back to the app and connect again."),
        ),
    }
}

fn valid_rid(rid: &str) -> bool {
    rid.len() <= 128
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /federation/{id}/jwks.json`: the public key of a connection that
/// authenticates to its provider with `private_key_jwt`, for the provider
/// to fetch (or the operator to paste). 404 for any other connection.
pub async fn client_jwks(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    use axum::response::IntoResponse as _;
    if !valid_connection_id(&id) {
        return (StatusCode::NOT_FOUND, "no such key set").into_response();
    }
    match authgate_authority::federation::oidc::client_jwks(&state, &id).await {
        Ok(Some(set)) => (
            [
                (axum::http::header::CONTENT_TYPE, "application/jwk-set+json"),
                // A rotation is seen within minutes; providers also refetch
                // on an unknown kid.
                (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
            ],
            set.to_string(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such key set").into_response(),
        Err(e) => crate::endpoints::login::store_failure(&state, e),
    }
}

pub async fn start(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !valid_connection_id(&id) {
        return unavailable(&state);
    }
    let conn = match link::enabled_connection(&state, &id).await {
        Ok(c) if c.kind != ConnectionKind::Saml => c,
        Ok(_) | Err(LinkError::UnknownConnection | LinkError::ConnectionDisabled) => {
            return unavailable(&state);
        }
        Err(e) => return link_failure(&state, &e),
    };
    let rid = q.get("r").map(String::as_str).unwrap_or("");
    if !valid_rid(rid) {
        return unavailable(&state);
    }
    let hint = q.get("login_hint").map(String::as_str);
    let started = match oidc::begin(&state, &conn, &redirect_uri(&state, &id), rid, hint).await {
        Ok(s) => s,
        Err(e) => {
            audit_failure(&state, &id, e.reason(), &e.to_string());
            tracing::warn!(connection = %id, reason = e.reason(), error = %e, "upstream sign-in could not start");
            return failure(&state, &e);
        }
    };
    let (mut sess, _, _) = match session::load_or_create(&state, &headers).await {
        Ok(x) => x,
        Err(e) => return crate::endpoints::login::store_failure(&state, e),
    };
    let mut kept = flows(&sess, state.clock.now());
    while kept.len() >= MAX_FLOWS {
        kept.remove(0);
    }
    kept.push(started.flow);
    set_data(
        &mut sess,
        FLOWS_KEY,
        serde_json::to_value(&kept).unwrap_or(Value::Null),
    );
    // 303: the browser GETs the upstream's authorization endpoint.
    save_into(&state, &sess, page::see_other(&started.url)).await
}

pub async fn callback(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !valid_connection_id(&id) {
        return unavailable(&state);
    }
    let cb = Callback {
        code: q.get("code").cloned(),
        state: q.get("state").cloned(),
        iss: q.get("iss").cloned(),
        error: q.get("error").cloned(),
    };
    let now = state.clock.now();
    let mut sess = match session::load(&state, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => {
            audit_failure(&state, &id, "bad_state", "no session in this browser");
            return failure(&state, &UpstreamError::BadState);
        }
        Err(e) => return crate::endpoints::login::store_failure(&state, e),
    };
    let mut kept = flows(&sess, now);
    let Some(pos) = kept
        .iter()
        .position(|f| f.connection_id == id && cb.state.as_deref() == Some(f.state.as_str()))
    else {
        audit_failure(
            &state,
            &id,
            "bad_state",
            "no flow with this state in this browser",
        );
        return failure(&state, &UpstreamError::BadState);
    };
    let flow = kept.remove(pos);
    set_data(
        &mut sess,
        FLOWS_KEY,
        serde_json::to_value(&kept).unwrap_or(Value::Null),
    );
    let conn = match link::enabled_connection(&state, &id).await {
        Ok(c) => c,
        Err(e) => return save_into(&state, &sess, link_failure(&state, &e)).await,
    };
    let identity = match oidc::finish(&state, &conn, &redirect_uri(&state, &id), &flow, &cb).await {
        Ok(i) => i,
        Err(e) => {
            audit_failure(&state, &id, e.reason(), &e.to_string());
            tracing::warn!(connection = %id, reason = e.reason(), "upstream sign-in failed");
            return save_into(&state, &sess, failure(&state, &e)).await;
        }
    };
    // The organization of the email the upstream vouches for decides
    // before any account is made or linked.
    if let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        && let Some(refused) = org_refusal(&state, email, &id).await
    {
        return save_into(&state, &sess, refused).await;
    }
    match link::sign_in_upstream(&state, &identity).await {
        Ok(LinkOutcome::SignedIn { user, .. }) => {
            finish_sign_in(&state, &sess, &user.id, &identity, &flow.rid).await
        }
        Ok(LinkOutcome::NeedsConfirmation { user_id, email }) => {
            set_data(
                &mut sess,
                LINK_KEY,
                json!({"identity": identity, "user_id": user_id, "rid": flow.rid,
                       "display_name": conn.display_name, "expires_at": now + LINK_TTL}),
            );
            let resp = link_page(&state, &sess, email, conn.display_name.clone(), None);
            save_into(&state, &sess, resp).await
        }
        Err(e) => save_into(&state, &sess, link_failure(&state, &e)).await,
    }
}

/// The page refusing a sign-in through `connection_id` for `email`, when
/// the email's organization is deactivated or wants its own identity
/// provider; `None` when it may go on. Audited.
async fn org_refusal(state: &AppState, email: &str, connection_id: &str) -> Option<Response> {
    use authgate_authority::orgs::{self, OrgGate};
    let (org, text) = match orgs::gate(state, email, Some(connection_id)).await {
        Ok(OrgGate::Open) => return None,
        Ok(OrgGate::Disabled(o)) => (
            o,
            msg("Your organization's access to this server is turned off. Ask your administrator."),
        ),
        Ok(OrgGate::UseCompanySignIn(o)) => (
            o,
            msg(
                "Your organization does not allow passwords on this server. Sign in through your company's sign-in instead: start again from your app and choose your company's sign-in, or ask your administrator.",
            ),
        ),
        Err(e) => return Some(crate::endpoints::login::store_failure(state, e)),
    };
    audit_failure(
        state,
        connection_id,
        "organization",
        &format!("organization {}", org.id),
    );
    Some(page::error_page(
        state,
        StatusCode::FORBIDDEN,
        msg("Sign-in failed"),
        text,
        msg("Go back and try again."),
    ))
}

/// The end of an upstream sign-in: the organization the upstream vouches
/// for, how the person authenticated, then the shared end of sign-in.
async fn finish_sign_in(
    state: &AppState,
    sess: &Session,
    user_id: &str,
    identity: &UpstreamIdentity,
    rid: &str,
) -> Response {
    // The person's own email counts too (a link may join an upstream
    // identity to an account whose address is at an organization).
    let user = match state.store.get_user(user_id).await {
        Ok(Some(u)) => u,
        // Deleted a moment ago: back to the first step.
        Ok(None) => {
            return page::see_other(&format!("{}/login", state.settings.issuer_path()));
        }
        Err(e) => return crate::endpoints::login::store_failure(state, e),
    };
    if let Some(refused) = org_refusal(state, &user.email, &identity.connection_id).await {
        return refused;
    }
    let org_id = match authgate_authority::orgs::org_for_sign_in(state, identity).await {
        Ok(o) => o,
        Err(e) => return crate::endpoints::login::store_failure(state, e),
    };
    let ctx = AuthContext {
        amr: if identity.amr.is_empty() {
            vec!["fed".into()]
        } else {
            identity.amr.clone()
        },
        idp: Some(identity.connection_id.clone()),
        org_id,
    };
    // The MFA policy holds for upstream sign-ins too: a person with a
    // second factor gives it here, and one who must have one enrols first
    // (otherwise `[mfa] required` would be one social login away). An
    // upstream's own `mfa` claim is not taken on trust: any upstream can
    // write it.
    match authgate_authority::mfa::policy::after_password(state, &user).await {
        Ok(authgate_authority::mfa::policy::AfterPassword::Done) => {}
        Ok(_) => {
            return crate::endpoints::mfa::begin(state, sess.clone(), user_id, &ctx, rid).await;
        }
        Err(e) => return crate::endpoints::login::store_failure(state, e),
    }
    match crate::pages::sign_in::complete(state, sess, user_id, &ctx, rid).await {
        Ok(resp) => resp,
        Err(e) => crate::endpoints::login::store_failure(state, e),
    }
}

pub async fn link_submit(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return page::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            msg("Sign-in failed"),
            msg("The form could not be read."),
            msg("Go back and try again."),
        );
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let mut sess = match crate::endpoints::login::signed_form_session(
        &state,
        &headers,
        &field("csrf"),
    )
    .await
    {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let pending = sess.data.get(LINK_KEY).cloned().unwrap_or(Value::Null);
    let identity: Option<UpstreamIdentity> =
        serde_json::from_value(pending.get("identity").cloned().unwrap_or(Value::Null)).ok();
    let user_id = pending
        .get("user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let rid = pending
        .get("rid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let provider = pending
        .get("display_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let live = pending
        .get("expires_at")
        .and_then(Value::as_i64)
        .is_some_and(|t| t > state.clock.now());
    let (Some(identity), Some(user_id), true) = (identity, user_id, live) else {
        return failure(&state, &UpstreamError::BadState);
    };
    match link::confirm_link(
        &state,
        &identity,
        &user_id,
        &field("password"),
        client.key(),
    )
    .await
    {
        Ok(user) => {
            set_data(&mut sess, LINK_KEY, Value::Null);
            finish_sign_in(&state, &sess, &user.id, &identity, &rid).await
        }
        Err(LinkError::BadPassword) => {
            let mut resp = link_page(
                &state,
                &sess,
                identity.email.clone().unwrap_or_default(),
                provider,
                Some(msg("The password is not correct.")),
            );
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            resp
        }
        Err(e) => {
            set_data(&mut sess, LINK_KEY, Value::Null);
            save_into(&state, &sess, link_failure(&state, &e)).await
        }
    }
}
