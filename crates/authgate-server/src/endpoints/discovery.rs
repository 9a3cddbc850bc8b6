//! RFC 8414 authorization server metadata and OIDC discovery: `issuer` is
//! byte for byte the configured one. Each document is rendered to bytes
//! once per resource list (see
//! `authgate_authority::discovery::DiscoveryCache`).

use crate::http::error::ApiError;
use crate::state::SharedState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;

fn respond(body: Bytes) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
}

pub async fn authorization_server(
    State(state): State<SharedState>,
) -> Result<impl IntoResponse, ApiError> {
    let resources = state.registry.resources(state.store.as_ref()).await?;
    Ok(respond(
        state
            .discovery
            .authorization_server(&state.settings, &resources),
    ))
}

pub async fn openid_configuration(
    State(state): State<SharedState>,
) -> Result<impl IntoResponse, ApiError> {
    let resources = state.registry.resources(state.store.as_ref()).await?;
    Ok(respond(
        state
            .discovery
            .openid_configuration(&state.settings, &resources),
    ))
}
