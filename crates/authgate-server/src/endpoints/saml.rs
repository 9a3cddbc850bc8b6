//! SAML 2.0 sign-in (service provider), next to the OpenID Connect one in
//! [`super::federation`], which starts it (`/federation/{id}/start` sends
//! the browser to the IdP with an AuthnRequest, HTTP-Redirect binding, and
//! keeps the flow in this browser's session):
//!
//! - `GET /saml/{id}`: this SP's metadata; the URL is also its entity id;
//! - `POST /saml/{id}/acs`: the IdP's response (HTTP-POST binding). It
//!   comes as a cross-site POST, which carries no `SameSite=Lax` session
//!   cookie, so this step reads nothing and decides nothing: it answers a
//!   small page of ours whose form POSTs the same two fields on to
//!   `/saml/{id}/acs/continue`, now same-site, with the cookie;
//! - `POST /saml/{id}/acs/continue`: finds the flow by `RelayState` in
//!   *this browser's* session, spends it, verifies the response (samael
//!   with libxmlsec1: signature, issuer, InResponseTo = the flow's request,
//!   audience, recipient, time bounds), caches the assertion ID against
//!   replay, and ends like every upstream sign-in
//!   ([`super::federation::signed_in_upstream`]).
//!
//! Failures are pages and `federation.sign_in.failed` audit events with a
//! reason; the assertion never reaches a log.

use super::federation::{
    FLOWS_KEY, audit_failure, failure, flows, set_data, signed_in_upstream, unavailable,
    upstream_failed,
};
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::federation::link::{self, LinkError};
use authgate_authority::federation::oidc::UpstreamError;
use authgate_authority::federation::saml;
use authgate_core::connection::{Connection, ConnectionKind, valid_connection_id};
use authgate_core::token_request::Params;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The largest ACS form accepted (the route's body limit): a
/// `SAMLResponse` of [`saml::MAX_RESPONSE_BYTES`], URL-encoded.
pub const MAX_ACS_FORM_BYTES: usize = 2 * saml::MAX_RESPONSE_BYTES;
/// Longest RelayState we could have issued (ours are 43 characters).
const MAX_RELAY_STATE: usize = 128;

const SCRIPT: &str = include_str!("../../assets/saml-post.js");

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

#[derive(Template)]
#[template(path = "saml_post.html")]
struct PostPage {
    page: PageCtx,
    action: String,
    saml_response: String,
    relay_state: String,
}

/// The enabled SAML connection `id`, or the page saying it is not there.
async fn saml_connection(state: &AppState, id: &str) -> Result<Connection, Response> {
    if !valid_connection_id(id) {
        return Err(unavailable(state));
    }
    match link::enabled_connection(state, id).await {
        Ok(c) if c.kind == ConnectionKind::Saml => Ok(c),
        Ok(_) | Err(LinkError::UnknownConnection | LinkError::ConnectionDisabled) => {
            Err(unavailable(state))
        }
        Err(LinkError::Store(e)) => Err(crate::endpoints::login::store_failure(state, e)),
        Err(_) => Err(unavailable(state)),
    }
}

/// `GET /saml/{id}`: the SP metadata to give the IdP.
pub async fn metadata(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    let conn = match saml_connection(&state, &id).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let xml = saml::sp_of(&state, &conn).and_then(|sp| {
        sp.metadata_xml()
            .map_err(|e| UpstreamError::Misconfigured(e.to_string()))
    });
    match xml {
        Ok(xml) => (
            [
                (header::CONTENT_TYPE, "application/samlmetadata+xml"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            xml,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(connection = %id, error = %e, "SAML metadata unavailable");
            failure(&state, &e)
        }
    }
}

/// The two ACS fields, bounded; `None` when missing or oversized.
fn acs_fields(form: Result<FormPairs, crate::http::error::ApiError>) -> Option<(String, String)> {
    let FormPairs(pairs) = form.ok()?;
    let p = Params::new(&pairs);
    let response = p.single("SAMLResponse").ok().flatten()?.to_owned();
    let relay = p.single("RelayState").ok().flatten()?.to_owned();
    let ok = !response.is_empty()
        && response.len() <= saml::MAX_RESPONSE_BYTES
        && !relay.is_empty()
        && relay.len() <= MAX_RELAY_STATE
        && relay
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some((response, relay))
}

fn unreadable(state: &AppState, id: &str) -> Response {
    audit_failure(
        state,
        id,
        "bad_request",
        "the ACS form is missing SAMLResponse or RelayState, or is too large",
    );
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        msg("Sign-in failed"),
        msg("Your identity provider's answer could not be read."),
        msg("Go back to the app and connect again."),
    )
}

/// `POST /saml/{id}/acs`: hands the response on, same-site (see the
/// module comment). Nothing is verified or stored here.
pub async fn acs(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    if let Err(resp) = saml_connection(&state, &id).await {
        return resp;
    }
    let Some((saml_response, relay_state)) = acs_fields(form) else {
        return unreadable(&state, &id);
    };
    let p = PostPage {
        page: PageCtx::new(&state),
        action: format!("{}/saml/{id}/acs/continue", state.settings.issuer_path()),
        saml_response,
        relay_state,
    };
    let mut resp = page::render(&state, StatusCode::OK, &p);
    allow_own_script(&mut resp);
    resp
}

/// The hand-on page runs our one script and posts only to ourselves.
fn allow_own_script(resp: &mut Response) {
    if let Some(csp) = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|c| format!("{c}; script-src 'self'; form-action 'self'"))
        && let Ok(v) = HeaderValue::from_str(&csp)
    {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// `POST /saml/{id}/acs/continue`: the response, now with this browser's
/// session.
pub async fn acs_continue(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let conn = match saml_connection(&state, &id).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Some((saml_response, relay_state)) = acs_fields(form) else {
        return unreadable(&state, &id);
    };
    let mut sess = match session::load(&state, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => {
            audit_failure(&state, &id, "bad_state", "no session in this browser");
            return failure(&state, &UpstreamError::BadState);
        }
        Err(e) => return crate::endpoints::login::store_failure(&state, e),
    };
    let mut kept = flows(&sess, state.clock.now());
    let Some(pos) = kept
        .iter()
        .position(|f| f.connection_id == id && f.state == relay_state)
    else {
        audit_failure(
            &state,
            &id,
            "bad_state",
            "no flow with this RelayState in this browser",
        );
        return failure(&state, &UpstreamError::BadState);
    };
    let flow = kept.remove(pos);
    set_data(
        &mut sess,
        FLOWS_KEY,
        serde_json::to_value(&kept).unwrap_or(Value::Null),
    );
    match saml::finish(&state, &conn, &flow, &relay_state, &saml_response).await {
        Ok(identity) => signed_in_upstream(&state, sess, &conn, identity, &flow.rid).await,
        Err(e) => upstream_failed(&state, &sess, &id, &e).await,
    }
}
