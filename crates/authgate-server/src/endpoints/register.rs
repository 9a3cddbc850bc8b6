//! Dynamic client registration (RFC 7591) at `<issuer>/register` and the
//! client configuration endpoint (RFC 7592) at `<issuer>/register/{id}`:
//! the HTTP half. What registration does (de-duplication, the cap, the
//! shared-registration rule, audit) is
//! `authgate_authority::registration::operations`.

use crate::http::client_address::ClientAddress;
use crate::http::error::{ApiError, no_store_json};
use crate::state::SharedState;
use authgate_authority::registration::operations::{self as registration, Refusal};
use authgate_core::{ErrorCode, OAuthError};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

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

/// The answer to a registrant who was not let in.
fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::RateLimited(wait) => too_many(wait),
        Refusal::Refused(e) => ApiError::from(e).into_response(),
        Refusal::InvalidToken(description) => invalid_token(description),
    }
}

/// The request's metadata object: `application/json`, a JSON object.
fn metadata_object(
    headers: &HeaderMap,
    body: &Result<axum::body::Bytes, BytesRejection>,
) -> Result<Map<String, Value>, OAuthError> {
    check_content_type(headers)?;
    json_object(body)
}

/// `POST /register`.
pub async fn register(
    State(state): State<SharedState>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Response {
    if let Err(r) = registration::admit(&state, client.key(), bearer(&headers)) {
        return refusal(r);
    }
    let addr = client.0.to_string();
    let registered = match metadata_object(&headers, &body) {
        Ok(obj) => registration::register(&state, &obj, Some(&addr)).await,
        Err(e) => Err(registration::refused(&state, Some(&addr), e)),
    };
    match registered {
        Ok(info) => no_store_json(StatusCode::CREATED, &info),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub async fn read(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registration::authorized_client(&state, &client_id, bearer(&headers)).await {
        Ok(c) => no_store_json(StatusCode::OK, &registration::read(&state, &c)),
        Err(r) => refusal(r),
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): replaces the metadata.
pub async fn update(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Response {
    let c = match registration::authorized_client(&state, &client_id, bearer(&headers)).await {
        Ok(c) => c,
        Err(r) => return refusal(r),
    };
    let updated = match metadata_object(&headers, &body) {
        Ok(obj) => registration::update(&state, c, &obj).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(info) => no_store_json(StatusCode::OK, &info),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
pub async fn delete(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let c = match registration::authorized_client(&state, &client_id, bearer(&headers)).await {
        Ok(c) => c,
        Err(r) => return refusal(r),
    };
    if let Err(e) = registration::delete(&state, c).await {
        return ApiError::from(e).into_response();
    }
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
