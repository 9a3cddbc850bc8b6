//! Dynamic client registration (RFC 7591) at `<issuer>/register` and the
//! client configuration endpoint (RFC 7592) at `<issuer>/register/{id}`.
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

use authgate_authority::registration::{fingerprint, limits};

use crate::http::client_address::ClientAddress;
use crate::http::error::{ApiError, StoreFailure, no_store_json};
use crate::state::{AppState, SharedState};
use authgate_authority::client_draft::{ClientDraft, DYNAMIC};
use authgate_authority::client_metadata::{self, Origin, Rules};
use authgate_core::model::{Client, ClientKind, ClientMetadata, TokenEndpointAuthMethod};
use authgate_core::{ErrorCode, OAuthError, secret};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

fn invalid_token(description: &str) -> Response {
    let mut r =
        ApiError::from(OAuthError::new(ErrorCode::InvalidToken, description)).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    r
}

fn too_many(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = ApiError::from(OAuthError::new(
        ErrorCode::SlowDown,
        format!("too many registrations from this address; retry in {secs} s"),
    ))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The body as a JSON object (a body over the size limit, or unreadable,
/// is `invalid_client_metadata` too, never a bare 413).
fn json_object(
    body: &Result<axum::body::Bytes, BytesRejection>,
) -> Result<Map<String, Value>, OAuthError> {
    let body = body.as_ref().map_err(|e| {
        OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "the request body is too large"
            } else {
                "the request body could not be read"
            },
        )
    })?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the request body must be a JSON object of client metadata",
        )),
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if authgate_authority::outbound::fetch::is_json_media_type(ct) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the request body must be application/json",
        ))
    }
}

/// Validates registration metadata, including the name rule and the
/// client_credentials rule.
async fn validate(
    state: &AppState,
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
        && let Some(host) = authgate_authority::clients::name_names_trusted_host(state, name)
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
async fn check_client_credentials(state: &AppState, m: &ClientMetadata) -> Result<(), OAuthError> {
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

fn registration_client_uri(state: &AppState, client_id: &str) -> String {
    format!("{}/register/{}", state.settings.issuer, client_id)
}

/// The RFC 7591 §3.2.1 / RFC 7592 §3 response body.
fn client_information(
    state: &AppState,
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
        json!(registration_client_uri(state, &c.client_id)),
    );
    if let Some(t) = access_token {
        o.insert("registration_access_token".into(), json!(t));
    }
    Value::Object(o)
}

async fn any_resource_allows_registration(state: &AppState) -> Result<bool, OAuthError> {
    Ok(state
        .registry
        .resources(state.store.as_ref())
        .await
        .map_err(StoreFailure)?
        .iter()
        .any(|r| r.allow_dynamic_registration))
}

/// `POST /register`.
pub async fn register(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Response {
    let guard = &state.client_services.registration;
    if let Err(wait) = guard.limiter.check(client.key()) {
        metrics::counter!("authgate_registrations_total", "outcome" => "rate_limited").increment(1);
        return too_many(wait);
    }
    let addr = Some(client.0.to_string());
    let cfg = &state.settings.raw.dynamic_registration;
    if !cfg.enabled {
        return ApiError::from(OAuthError::new(
            ErrorCode::AccessDenied,
            "dynamic client registration is disabled on this server",
        ))
        .into_response();
    }
    if !guard.initial_tokens.is_empty()
        && !limits::initial_token_ok(bearer(&headers), &guard.initial_tokens)
    {
        return invalid_token(
            "registration needs a valid initial access token (Authorization: Bearer)",
        );
    }
    match register_inner(&state, &headers, &body, addr.as_deref()).await {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("authgate_registrations_total", "outcome" => "refused").increment(1);
            if e.code != ErrorCode::ServerError {
                audit(
                    &state,
                    "client.registration_refused",
                    None,
                    addr.as_deref(),
                    "failure",
                    json!({"error": e.code.as_str(), "error_description": e.description}),
                );
            }
            ApiError::from(e).into_response()
        }
    }
}

/// An audit event about a dynamically registered client.
fn audit(
    state: &AppState,
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
    authgate_authority::audit::audit_detail(
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

async fn register_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &Result<axum::body::Bytes, BytesRejection>,
    addr: Option<&str>,
) -> Result<Response, OAuthError> {
    check_content_type(headers)?;
    let obj = json_object(body)?;
    let metadata = validate(state, &obj).await?;
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
    let body = client_information(state, &c, secret_plain.as_deref(), Some(&access_token));
    Ok(no_store_json(StatusCode::CREATED, &body))
}

/// An identical registration of a client without a shared secret: the
/// existing client, counted once more, with a new registration token.
async fn re_register(
    state: &AppState,
    existing: Client,
    metadata: ClientMetadata,
    access_token: &str,
    addr: Option<&str>,
) -> Result<Response, OAuthError> {
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
    let body = client_information(state, &c, None, Some(access_token));
    Ok(no_store_json(StatusCode::CREATED, &body))
}

/// Refuses a new dynamic client when `max_clients` are live (see
/// [`LiveCount`]).
async fn check_live_clients(state: &AppState) -> Result<(), OAuthError> {
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

/// The client a registration access token manages, or the 401 to send.
async fn authorized_client(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<Client, Response> {
    let Some(token) = bearer(headers) else {
        return Err(invalid_token("the registration access token is missing"));
    };
    let c = if client_id.len() > 256 {
        None
    } else {
        state
            .store
            .get_client(client_id)
            .await
            .map_err(|e| ApiError::from(e).into_response())?
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
        _ => Err(invalid_token(
            "the registration access token is not valid for this client",
        )),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub async fn read(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match authorized_client(&state, &headers, &client_id).await {
        Ok(c) => no_store_json(StatusCode::OK, &client_information(&state, &c, None, None)),
        Err(r) => r,
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): replaces the metadata.
pub async fn update(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Response {
    let c = match authorized_client(&state, &headers, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match update_inner(&state, &headers, c, &body).await {
        Ok(r) => r,
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn update_inner(
    state: &AppState,
    headers: &HeaderMap,
    c: Client,
    body: &Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    check_content_type(headers)?;
    let obj = json_object(body)?;
    match obj.get("client_id") {
        Some(Value::String(id)) if *id == c.client_id => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "client_id: the body must carry this client's client_id",
            ));
        }
    }
    let metadata = validate(state, &obj).await?;
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
    let body = client_information(state, &c, secret_plain.as_deref(), None);
    Ok(no_store_json(StatusCode::OK, &body))
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
pub async fn delete(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut c = match authorized_client(&state, &headers, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let store = state.store.as_ref();
    let result = if c.registration_count > 1 {
        // Others registered the same client: drop this registration only.
        c.registration_count -= 1;
        c.registration_access_token_hash = None;
        store.update_client(&c).await.map(|_| ())
    } else {
        store.delete_client(&c.client_id).await.map(|_| ())
    };
    if let Err(e) = result {
        return ApiError::from(e).into_response();
    }
    state.registry.invalidate_client(&c.client_id);
    audit(
        &state,
        "client.registration_deleted",
        Some(&c),
        None,
        "success",
        json!({}),
    );
    let mut r = StatusCode::NO_CONTENT.into_response();
    crate::http::cache::forbid_caching(r.headers_mut());
    r
}

/// The bearer token of the request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}
