//! What dynamic registration does (RFC 7591 §3, RFC 7592 §2): admit a
//! registrant, register (or re-register) a client, and read, update or
//! delete it with its registration access token. The endpoint
//! (`authgate-server`'s `endpoints::register`) parses the request and
//! writes these results out.
//!
//! Real MCP clients register on every reconnect, often from shared egress.
//! So:
//! - an identical re-registration (same normalized metadata — loopback
//!   redirect ports ignored — including `software_id`) of a client without
//!   a shared secret (`none`, `private_key_jwt`) returns the existing
//!   `client_id` with a new registration access token and counts
//!   (`registration_count`) instead of adding a row. Registrations with a
//!   client secret are never merged: rotating a secret another installation
//!   relies on would lock that installation out;
//! - a generous token bucket per address (429 + `Retry-After`);
//! - a cap on live dynamic clients (503 when full);
//! - clients never used for `unused_client_ttl_secs` are reaped hourly;
//! - optional initial access tokens for closed deployments.
//!
//! A registration shared by several registrants (`registration_count > 1`)
//! cannot have its metadata changed through RFC 7592 (a stranger who
//! registered the same metadata must not be able to redirect everyone's
//! authorizations); deleting it only drops one registration.

use super::fingerprint::fingerprint;
use super::limits;
use crate::client_draft::{ClientDraft, DYNAMIC};
use crate::client_metadata::{self, Origin, Rules};
use crate::net::AddressKey;
use crate::{Authority, StoreFailure};
use authgate_core::model::{Client, ClientKind, ClientMetadata, TokenEndpointAuthMethod};
use authgate_core::{ErrorCode, OAuthError, secret};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Why a registrant was not let in at all.
#[derive(Debug)]
pub enum Refusal {
    /// Too many registrations from this address: retry after this long.
    RateLimited(Duration),
    /// Dynamic registration is off, or another OAuth error.
    Refused(OAuthError),
    /// The initial (or registration) access token is missing or wrong
    /// (RFC 6750 `invalid_token`).
    InvalidToken(&'static str),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Refusal::Refused(e)
    }
}

/// The checks before a registration is read: the per-address rate limit,
/// the `enabled` switch and the initial access token, in that order.
pub fn admit(state: &Authority, address: AddressKey, bearer: Option<&str>) -> Result<(), Refusal> {
    let guard = &state.client_services.registration;
    if let Err(wait) = guard.limiter.check(address) {
        metrics::counter!("authgate_registrations_total", "outcome" => "rate_limited").increment(1);
        return Err(Refusal::RateLimited(wait));
    }
    if !state.settings.raw.dynamic_registration.enabled {
        return Err(Refusal::Refused(OAuthError::new(
            ErrorCode::AccessDenied,
            "dynamic client registration is disabled on this server",
        )));
    }
    if !guard.initial_tokens.is_empty() && !limits::initial_token_ok(bearer, &guard.initial_tokens)
    {
        return Err(Refusal::InvalidToken(
            "registration needs a valid initial access token (Authorization: Bearer)",
        ));
    }
    Ok(())
}

/// Registers a client from its metadata (`obj`); the answer is the RFC
/// 7591 §3.2.1 client information. A refusal is counted and audited.
pub async fn register(
    state: &Authority,
    obj: &Map<String, Value>,
    addr: Option<&str>,
) -> Result<Value, OAuthError> {
    register_inner(state, obj, addr)
        .await
        .map_err(|e| refused(state, addr, e))
}

/// Counts and audits a refused registration (a storage failure is logged
/// where it happened instead), and hands the error back.
pub fn refused(state: &Authority, addr: Option<&str>, e: OAuthError) -> OAuthError {
    metrics::counter!("authgate_registrations_total", "outcome" => "refused").increment(1);
    if e.code != ErrorCode::ServerError {
        audit(
            state,
            "client.registration_refused",
            None,
            addr,
            "failure",
            json!({"error": e.code.as_str(), "error_description": e.description}),
        );
    }
    e
}

async fn register_inner(
    state: &Authority,
    obj: &Map<String, Value>,
    addr: Option<&str>,
) -> Result<Value, OAuthError> {
    let metadata = validate(state, obj).await?;
    if !any_resource_allows_registration(state).await? {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "no MCP server on this server accepts dynamically registered clients",
        ));
    }
    let fp = fingerprint(&metadata);
    let access_token = secret::generate(state.rng.as_ref())?;
    if shares_nothing_secret(&metadata)
        && let Some(existing) = state
            .store
            .find_client_by_fingerprint(&fp)
            .await
            .map_err(StoreFailure)?
    {
        return re_register(state, existing, metadata, &access_token, addr).await;
    }
    check_live_clients(state).await?;
    let secret_plain = issues_secret(&metadata)
        .then(|| secret::generate(state.rng.as_ref()))
        .transpose()?;
    let c = ClientDraft {
        secret_hash: secret_plain.as_deref().map(secret::hash),
        registration_access_token_hash: Some(secret::hash(&access_token)),
        registration_fingerprint: Some(fp),
        ..ClientDraft::new(DYNAMIC, secret::generate_id(state.rng.as_ref())?, metadata)
    }
    .into_client(state.clock.now(), None)?;
    state.store.insert_client(&c).await.map_err(StoreFailure)?;
    state.client_services.registration.live.add_one();
    metrics::counter!("authgate_registrations_total", "outcome" => "created").increment(1);
    tracing::info!(client_id = %c.client_id, software_id = ?c.metadata.software_id, "client registered");
    audit(
        state,
        "client.registered",
        Some(&c),
        addr,
        "success",
        json!({}),
    );
    Ok(client_information(
        state,
        &c,
        secret_plain.as_deref(),
        Some(&access_token),
    ))
}

/// An identical registration of a client without a shared secret: the
/// existing client, counted once more, with a new registration token.
async fn re_register(
    state: &Authority,
    existing: Client,
    metadata: ClientMetadata,
    access_token: &str,
    addr: Option<&str>,
) -> Result<Value, OAuthError> {
    if existing.blocked {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "this client has been blocked by an administrator",
        ));
    }
    let mut c = ClientDraft {
        metadata,
        registration_access_token_hash: Some(secret::hash(access_token)),
        ..ClientDraft::of(&existing)
    }
    .into_client(state.clock.now(), Some(&existing))?;
    c.registration_count = existing.registration_count.saturating_add(1);
    state.store.update_client(&c).await.map_err(StoreFailure)?;
    state.registry.invalidate_client(&c.client_id);
    metrics::counter!("authgate_registrations_total", "outcome" => "deduplicated").increment(1);
    tracing::info!(client_id = %c.client_id, count = c.registration_count, "client re-registered");
    audit(
        state,
        "client.re_registered",
        Some(&c),
        addr,
        "success",
        json!({}),
    );
    Ok(client_information(state, &c, None, Some(access_token)))
}

/// Refuses a new dynamic client when `max_clients` are live (see
/// [`super::guard::LiveCount`]).
async fn check_live_clients(state: &Authority) -> Result<(), OAuthError> {
    let max = state.settings.raw.dynamic_registration.max_clients;
    let counted = &state.client_services.registration.live;
    let live = match counted.fresh() {
        Some(n) if n < max => n,
        _ => {
            let n = state
                .store
                .count_clients(ClientKind::Dynamic)
                .await
                .map_err(StoreFailure)?;
            counted.set(n);
            n
        }
    };
    if live >= max {
        tracing::warn!(live, "dynamic client cap reached; registration refused");
        return Err(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "this server has reached its limit of registered clients; try again later",
        ));
    }
    Ok(())
}

/// The client a registration access token manages.
pub async fn authorized_client(
    state: &Authority,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, Refusal> {
    let Some(token) = token else {
        return Err(Refusal::InvalidToken(
            "the registration access token is missing",
        ));
    };
    let c = if client_id.len() > 256 {
        None
    } else {
        state
            .store
            .get_client(client_id)
            .await
            .map_err(|e| OAuthError::from(StoreFailure(e)))?
    };
    match c {
        Some(c)
            if c.kind == ClientKind::Dynamic
                && c.registration_access_token_hash
                    .as_deref()
                    .is_some_and(|h| secret::verify(token, h)) =>
        {
            Ok(c)
        }
        _ => Err(Refusal::InvalidToken(
            "the registration access token is not valid for this client",
        )),
    }
}

/// RFC 7592 §2.1: what the client configuration endpoint reads back.
pub fn read(state: &Authority, c: &Client) -> Value {
    client_information(state, c, None, None)
}

/// RFC 7592 §2.2: replaces the metadata of `c` with `obj`.
pub async fn update(
    state: &Authority,
    c: Client,
    obj: &Map<String, Value>,
) -> Result<Value, OAuthError> {
    match obj.get("client_id") {
        Some(Value::String(id)) if *id == c.client_id => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "client_id: the body must carry this client's client_id",
            ));
        }
    }
    let metadata = validate(state, obj).await?;
    let fp = fingerprint(&metadata);
    if c.registration_count > 1 && c.registration_fingerprint.as_deref() != Some(fp.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "this registration is shared by identical registrations and cannot be changed; register a new client instead",
        ));
    }
    let mut draft = ClientDraft::of(&c);
    let mut secret_plain = None;
    if issues_secret(&metadata) {
        if draft.secret_hash.is_none() {
            let s = secret::generate(state.rng.as_ref())?;
            draft.secret_hash = Some(secret::hash(&s));
            secret_plain = Some(s);
        }
    } else {
        draft.secret_hash = None;
    }
    draft.metadata = metadata;
    draft.registration_fingerprint = Some(fp);
    let c = draft.into_client(state.clock.now(), Some(&c))?;
    state.store.update_client(&c).await.map_err(StoreFailure)?;
    state.registry.invalidate_client(&c.client_id);
    audit(
        state,
        "client.registration_updated",
        Some(&c),
        None,
        "success",
        json!({}),
    );
    Ok(client_information(state, &c, secret_plain.as_deref(), None))
}

/// RFC 7592 §2.3: deletes the client, or, when others registered the same
/// client, drops this registration only.
pub async fn delete(state: &Authority, mut c: Client) -> Result<(), OAuthError> {
    let store = state.store.as_ref();
    let result = if c.registration_count > 1 {
        c.registration_count -= 1;
        c.registration_access_token_hash = None;
        store.update_client(&c).await.map(|_| ())
    } else {
        store.delete_client(&c.client_id).await.map(|_| ())
    };
    result.map_err(StoreFailure)?;
    state.registry.invalidate_client(&c.client_id);
    audit(
        state,
        "client.registration_deleted",
        Some(&c),
        None,
        "success",
        json!({}),
    );
    Ok(())
}

/// Validates registration metadata, including the name rule and the
/// client_credentials rule.
async fn validate(
    state: &Authority,
    obj: &Map<String, Value>,
) -> Result<ClientMetadata, OAuthError> {
    let m = client_metadata::validate(
        obj,
        Rules {
            origin: Origin::Registration,
            allow_loopback: state.settings.raw.cimd.allow_loopback,
        },
    )?;
    if let Some(name) = &m.client_name
        && let Some(host) = crate::clients::name_names_trusted_host(state, name)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            format!(
                "client_name: must not name {host}, a host whose clients are verified by their metadata document"
            ),
        ));
    }
    check_client_credentials(state, &m).await?;
    Ok(m)
}

/// A dynamically registered client gets `client_credentials` only for an
/// MCP server that accepts dynamic clients and opted in with
/// `allow_dynamic_client_credentials` (checked again at every token
/// request, `clients::check_allowed_for_resource`). When no server does,
/// registration refuses the grant type at once, so the client learns now
/// rather than at its first token request that it will never work.
async fn check_client_credentials(state: &Authority, m: &ClientMetadata) -> Result<(), OAuthError> {
    if !m.grant_types.iter().any(|g| g == "client_credentials") {
        return Ok(());
    }
    let any = state
        .registry
        .resources(state.store.as_ref())
        .await
        .map_err(StoreFailure)?
        .iter()
        .any(|r| r.allow_dynamic_registration && r.allow_dynamic_client_credentials);
    if any {
        return Ok(());
    }
    Err(OAuthError::new(
        ErrorCode::InvalidClientMetadata,
        "grant_types: no MCP server here gives dynamically registered clients the \
         client_credentials grant",
    ))
}

fn shares_nothing_secret(m: &ClientMetadata) -> bool {
    matches!(
        m.token_endpoint_auth_method,
        TokenEndpointAuthMethod::None | TokenEndpointAuthMethod::PrivateKeyJwt
    )
}

fn issues_secret(m: &ClientMetadata) -> bool {
    client_metadata::uses_shared_secret(m.token_endpoint_auth_method)
}

/// The RFC 7591 §3.2.1 / RFC 7592 §3 response body.
fn client_information(
    state: &Authority,
    c: &Client,
    secret_plain: Option<&str>,
    access_token: Option<&str>,
) -> Value {
    let mut o = client_metadata::to_json(&c.metadata);
    o.insert("client_id".into(), json!(c.client_id));
    o.insert("client_id_issued_at".into(), json!(c.created_at));
    if let Some(s) = secret_plain {
        o.insert("client_secret".into(), json!(s));
    }
    if c.secret_hash.is_some() {
        o.insert("client_secret_expires_at".into(), json!(0));
    }
    o.insert(
        "registration_client_uri".into(),
        json!(format!(
            "{}/register/{}",
            state.settings.issuer, c.client_id
        )),
    );
    if let Some(t) = access_token {
        o.insert("registration_access_token".into(), json!(t));
    }
    Value::Object(o)
}

async fn any_resource_allows_registration(state: &Authority) -> Result<bool, OAuthError> {
    Ok(state
        .registry
        .resources(state.store.as_ref())
        .await
        .map_err(StoreFailure)?
        .iter()
        .any(|r| r.allow_dynamic_registration))
}

/// An audit event about a dynamically registered client.
fn audit(
    state: &Authority,
    event: &str,
    c: Option<&Client>,
    addr: Option<&str>,
    outcome: &str,
    mut detail: Value,
) {
    if let (Some(c), Some(d)) = (c, detail.as_object_mut()) {
        d.insert("client_name".into(), json!(c.metadata.client_name));
        d.insert("software_id".into(), json!(c.metadata.software_id));
        d.insert("registration_count".into(), json!(c.registration_count));
    }
    crate::audit::audit_detail(
        state,
        event,
        None,
        c.map(|c| c.client_id.as_str()),
        None,
        addr,
        outcome,
        detail,
    );
}
