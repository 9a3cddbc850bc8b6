//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//! or `none` (public clients, client_id only). One method per request.

use crate::app::AppState;
use crate::http::error::ApiError;
use authgate_core::OAuthError;
use authgate_core::model::{Client, TokenEndpointAuthMethod};
use authgate_core::secret;
use authgate_core::token_request::BodyClientAuth;
use axum::http::{HeaderMap, header};
use base64::Engine;
use percent_encoding::percent_decode_str;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Arc<Client>,
    pub method: TokenEndpointAuthMethod,
}

impl AuthenticatedClient {
    pub fn is_confidential(&self) -> bool {
        self.method.is_confidential()
    }
}

/// Credentials found in the Authorization header (client_secret_basic).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(OAuthError::invalid_client("malformed Authorization header"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "unsupported Authorization scheme; use Basic client credentials",
        ));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
    let raw = String::from_utf8(raw)
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
    let (id, sec) = raw
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))
    };
    Ok(Some((dec(id)?, dec(sec)?)))
}

pub fn used_basic(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
}

/// Authenticates the client of a token-endpoint-style request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &BodyClientAuth,
) -> Result<AuthenticatedClient, ApiError> {
    let basic = used_basic(headers);
    let wrap = |e: OAuthError| ApiError::from(e).with_basic(basic);
    let header_creds = basic_credentials(headers).map_err(wrap)?;
    if body.client_assertion.is_some() || body.client_assertion_type.is_some() {
        return Err(wrap(OAuthError::invalid_client(
            "private_key_jwt client authentication is not enabled for this client",
        )));
    }
    let (client_id, presented_secret, method) = match (header_creds, &body.client_secret) {
        (Some(_), Some(_)) => {
            return Err(wrap(OAuthError::invalid_request(
                "use only one client authentication method",
            )));
        }
        (Some((id, sec)), None) => {
            if body.client_id.as_ref().is_some_and(|b| b != &id) {
                return Err(wrap(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                )));
            }
            (id, Some(sec), TokenEndpointAuthMethod::ClientSecretBasic)
        }
        (None, Some(sec)) => {
            let id = body
                .client_id
                .clone()
                .ok_or_else(|| wrap(OAuthError::invalid_client("client_id is required")))?;
            (
                id,
                Some(sec.clone()),
                TokenEndpointAuthMethod::ClientSecretPost,
            )
        }
        (None, None) => {
            let id = body.client_id.clone().ok_or_else(|| {
                wrap(OAuthError::invalid_client(
                    "client authentication is required",
                ))
            })?;
            (id, None, TokenEndpointAuthMethod::None)
        }
    };
    if client_id.len() > 2048 {
        return Err(wrap(OAuthError::invalid_client("unknown client")));
    }
    let client = state
        .registry
        .client(state.store.as_ref(), &client_id)
        .await
        .map_err(|e| ApiError::from(e).with_basic(basic))?
        .ok_or_else(|| {
            wrap(OAuthError::invalid_client(
                "unknown client or wrong credentials",
            ))
        })?;
    if client.blocked {
        return Err(wrap(OAuthError::invalid_client("this client is blocked")));
    }
    match (client.secret_hash.as_deref(), presented_secret) {
        (Some(hash), Some(sec)) => {
            if !secret::verify(&sec, hash) {
                return Err(wrap(OAuthError::invalid_client(
                    "unknown client or wrong credentials",
                )));
            }
        }
        (Some(_), None) => {
            return Err(wrap(OAuthError::invalid_client(
                "this client must authenticate with its secret",
            )));
        }
        (None, Some(_)) => {
            // A public client presenting a secret: refuse rather than
            // pretend it authenticated.
            return Err(wrap(OAuthError::invalid_client(
                "this client has no secret; authenticate with client_id only",
            )));
        }
        (None, None) => {
            if client.metadata.token_endpoint_auth_method.is_confidential() {
                return Err(wrap(OAuthError::invalid_client(
                    "this client must authenticate",
                )));
            }
        }
    }
    state
        .registry
        .mark_used(&client.client_id, state.clock.now());
    Ok(AuthenticatedClient { client, method })
}
