//! Token introspection (RFC 7662) for authenticated confidential clients:
//! resource servers use it for revocation-aware checks. Who learns what is
//! `authgate_authority::introspection`.

use crate::http::client_auth;
use crate::http::error::{ApiError, no_store_json};
use crate::http::form::FormPairs;
use crate::state::SharedState;
use authgate_authority::introspection;
use authgate_core::OAuthError;
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    FormPairs(pairs): FormPairs,
) -> Result<Response, ApiError> {
    let basic = client_auth::used_basic(&headers);
    let wrap = |e: OAuthError| ApiError::from(e).with_basic(basic);
    let p = Params::new(&pairs);
    let body_auth = client_auth::body_client_auth(&p).map_err(wrap)?;
    let client = client_auth::authenticate(&state, &headers, &body_auth).await?;
    if !client.is_confidential() {
        return Err(wrap(OAuthError::invalid_client(
            "introspection requires client authentication",
        )));
    }
    let token = p.required("token").map_err(wrap)?;
    // token_type_hint is only a hint (RFC 7662 §2.1); both kinds are tried.
    let _ = p.single("token_type_hint").map_err(wrap)?;
    let body = introspection::introspect_token(&state, &client.client, token).await?;
    Ok(no_store_json(StatusCode::OK, &body))
}
