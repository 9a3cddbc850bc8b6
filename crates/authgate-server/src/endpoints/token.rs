//! The token endpoint (RFC 6749 §3.2): parse, authenticate the client,
//! dispatch to the grant, answer with `no-store`.

use crate::http::client_auth;
use crate::http::error::{ApiError, no_store_json_bytes};
use crate::http::form::FormPairs;
use crate::state::SharedState;
use authgate_authority::grants;
use authgate_core::token_request::{self, Grant};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::time::Instant;

pub async fn token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    FormPairs(pairs): FormPairs,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let basic = client_auth::used_basic(&headers);
    let req = token_request::parse(&pairs).map_err(|e| ApiError::from(e).with_basic(basic))?;
    let grant_type = req.grant.grant_type();
    let client = client_auth::authenticate(&state, &headers, &req.client_auth).await?;
    grants::check_allowed(&client, grant_type).map_err(|e| ApiError::from(e).with_basic(basic))?;
    let result = match &req.grant {
        Grant::ClientCredentials { scope } => {
            grants::client_credentials::grant(&state, &client, scope.as_deref(), &req.resource)
                .await
        }
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            grants::authorization_code::grant(
                &state,
                &client,
                grants::authorization_code::Request {
                    code,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                    resource: &req.resource,
                },
            )
            .await
        }
        Grant::RefreshToken {
            refresh_token,
            scope,
        } => {
            grants::refresh_token::grant(
                &state,
                &client,
                refresh_token,
                scope.as_deref(),
                &req.resource,
            )
            .await
        }
    };
    let resp = result.map_err(|e| ApiError::from(e).with_basic(basic))?;
    metrics::counter!(
        crate::metric_catalog::TOKENS_ISSUED,
        "grant" => grant_type,
        "resource" => resp.resource_id.clone()
    )
    .increment(1);
    // Audit: queued for the batched writer, nothing awaited here.
    let id = Some(client.client.client_id.as_str());
    let detail = json!({"grant_type": grant_type, "resource": req.resource.first()});
    authgate_authority::audit::audit_detail(
        &state,
        "token.issued",
        id,
        id,
        None,
        None,
        "ok",
        detail,
    );
    metrics::histogram!(crate::metric_catalog::TOKEN_SECONDS, "grant" => grant_type)
        .record(started.elapsed().as_secs_f64());
    Ok(no_store_json_bytes(StatusCode::OK, resp.to_json()))
}
