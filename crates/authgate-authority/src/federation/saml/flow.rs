//! One SAML sign-in, start to end, in the shape of the OpenID Connect
//! one (so the server keeps it the same way, in the browser's session):
//! [`begin`] makes the AuthnRequest (HTTP-Redirect binding) and the
//! [`PendingFlow`] to keep; [`finish`] takes the POSTed response, checks
//! it belongs to that flow (RelayState, spent once), verifies it
//! ([`SamlSp::validate`] with the flow's request ID as InResponseTo) and
//! records the assertion ID in the replay cache until it expires.
//!
//! In the [`PendingFlow`], `state` is the RelayState (an opaque random
//! value, never a URL) and `nonce` the AuthnRequest's ID.

use super::{SamlConnectionConfig, SamlError, SamlSp};
use crate::Authority;
use crate::federation::identity::UpstreamIdentity;
use crate::federation::oidc::{FLOW_TTL, PendingFlow, Started, UpstreamError};
use authgate_core::connection::{Connection, ConnectionKind};
use authgate_core::secret;
use authgate_store::StoreError;
use subtle::ConstantTimeEq;

/// The SP of connection `conn` (of kind `saml`) under this issuer.
pub fn sp_of(auth: &Authority, conn: &Connection) -> Result<SamlSp, UpstreamError> {
    if conn.kind != ConnectionKind::Saml {
        return Err(UpstreamError::Misconfigured("not a SAML connection".into()));
    }
    let cfg: SamlConnectionConfig = serde_json::from_value(conn.config.clone())
        .map_err(|e| UpstreamError::Misconfigured(format!("SAML settings: {e}")))?;
    SamlSp::new(&auth.settings.issuer, &conn.id, cfg)
        .map_err(|e| UpstreamError::Misconfigured(e.to_string()))
}

fn random(auth: &Authority) -> Result<String, UpstreamError> {
    Ok(secret::generate(auth.rng.as_ref()).map_err(StoreError::from)?)
}

/// Starts a sign-in through SAML connection `conn`, back to the pending
/// request `rid`.
pub async fn begin(
    auth: &Authority,
    conn: &Connection,
    rid: &str,
) -> Result<Started, UpstreamError> {
    let sp = sp_of(auth, conn)?;
    auth.federation.url_ok(&sp_sso_url(conn)?)?;
    // An xs:ID must not start with a digit; the random part is base64url.
    let request_id = format!("id-{}", random(auth)?);
    let flow = PendingFlow {
        connection_id: conn.id.clone(),
        state: random(auth)?,
        nonce: request_id,
        verifier: String::new(),
        rid: rid.to_owned(),
        created_at: auth.clock.now(),
    };
    let url = sp
        .authn_request_url(&flow.nonce, &flow.state)
        .map_err(|e| UpstreamError::Misconfigured(e.to_string()))?;
    Ok(Started { url, flow })
}

fn sp_sso_url(conn: &Connection) -> Result<String, UpstreamError> {
    conn.config
        .get("sso_url")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| UpstreamError::Misconfigured("no sso_url".into()))
}

/// Finishes `flow` (found in this browser's session by `relay_state`)
/// with the POSTed `saml_response`.
pub async fn finish(
    auth: &Authority,
    conn: &Connection,
    flow: &PendingFlow,
    relay_state: &str,
    saml_response: &str,
) -> Result<UpstreamIdentity, UpstreamError> {
    let now = auth.clock.now();
    let relay_ok = bool::from(relay_state.as_bytes().ct_eq(flow.state.as_bytes()));
    if !relay_ok || flow.connection_id != conn.id || now - flow.created_at > FLOW_TTL {
        return Err(UpstreamError::BadState);
    }
    // Any answer spends the flow: a second POST with it finds it used.
    if !crate::federation::oidc::spend(auth, "state", &flow.state, flow.created_at + FLOW_TTL)
        .await?
    {
        return Err(UpstreamError::BadState);
    }
    let sp = sp_of(auth, conn)?;
    let (mut identity, replay_key, expires) =
        sp.validate(saml_response, &flow.nonce)
            .map_err(|e| match e {
                SamlError::Config(m) => UpstreamError::Misconfigured(m),
                e => UpstreamError::Assertion(e.to_string()),
            })?;
    // The replay cache: an assertion ID is taken once until it expires
    // (plus the skew), whatever flow carries it.
    let key = format!("federation-saml-assertion:{}", secret::hash(&replay_key));
    if !auth
        .store
        .use_nonce(&key, expires.max(now + 60), now)
        .await?
    {
        return Err(UpstreamError::AssertionReplayed);
    }
    // SAML has no `email_verified`: the operator vouches for this IdP's
    // emails in the connection's trusted domains (or all with
    // `trust_email`), and in the verified domains of an organization that
    // has this IdP as its own sign-in (the email step routes that domain
    // here; the organization gate still decides).
    if let Some(email) = identity.email.clone()
        && !identity.email_verified
    {
        identity.email_verified = conn.trusts_email_domain(&email)
            || crate::orgs::org_for_email(auth, &email)
                .await?
                .is_some_and(|o| o.connection_ids.iter().any(|c| c == &conn.id));
    }
    Ok(identity)
}
