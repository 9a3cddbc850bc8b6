//! Admin API handlers for upstream connections (issue 19): the identity
//! providers people sign in through. Each calls
//! [`authgate_authority::federation::manage`], like the CLI and the
//! dashboard. Secrets are write-only: no answer ever contains one.

use super::auth::Caller;
use super::failure::Failure;
use super::json::JsonBody;
use crate::state::SharedState;
use authgate_authority::federation::manage::{
    self as connections, ConnectionInput, ConnectionView,
};
use authgate_authority::manage::types::ErrorBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

type ApiResult<T> = Result<Json<T>, Failure>;

/// Every connection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionList {
    pub items: Vec<ConnectionView>,
}

/// What a deletion removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionDeleted {
    pub deleted: String,
}

/// List connections (identity providers).
#[utoipa::path(get, path = "/connections", tag = "Connections",
    responses((status = 200, body = ConnectionList)))]
pub async fn list_connections(
    _c: Caller,
    State(state): State<SharedState>,
) -> ApiResult<ConnectionList> {
    Ok(Json(ConnectionList {
        items: connections::list_connections(&state).await?,
    }))
}

/// Add a connection: a preset (`google`, `microsoft`, `github`, `okta`,
/// `auth0`, `keycloak`, `gitlab`) or any OpenID Connect issuer. The
/// client secret is sealed with the key-encryption key before it is
/// stored; the answer says which redirect URI to register upstream.
#[utoipa::path(post, path = "/connections", tag = "Connections", request_body = ConnectionInput,
    responses((status = 201, body = ConnectionView), (status = 409, body = ErrorBody, description = "the id is in use")))]
pub async fn create_connection(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<Response, Failure> {
    let v = connections::create_connection(&state, &c.actor, input).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// One connection (never its secret).
#[utoipa::path(get, path = "/connections/{id}", tag = "Connections",
    params(("id" = String, Path, description = "connection id")),
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorBody)))]
pub async fn get_connection(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ConnectionView> {
    Ok(Json(connections::show_connection(&state, &id).await?))
}

/// Replace a connection's settings; without `client_secret` the stored
/// secret is kept.
#[utoipa::path(put, path = "/connections/{id}", tag = "Connections", request_body = ConnectionInput,
    params(("id" = String, Path, description = "connection id")),
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorBody)))]
pub async fn update_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> ApiResult<ConnectionView> {
    Ok(Json(
        connections::update_connection(&state, &c.actor, &id, input).await?,
    ))
}

/// Delete a connection; the people who signed in through it keep their
/// accounts, not the link.
#[utoipa::path(delete, path = "/connections/{id}", tag = "Connections",
    params(("id" = String, Path, description = "connection id")),
    responses((status = 200, body = ConnectionDeleted), (status = 404, body = ErrorBody)))]
pub async fn delete_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ConnectionDeleted> {
    connections::delete_connection(&state, &c.actor, &id).await?;
    Ok(Json(ConnectionDeleted { deleted: id }))
}

/// Disable a connection: it signs nobody in.
#[utoipa::path(post, path = "/connections/{id}/disable", tag = "Connections",
    params(("id" = String, Path, description = "connection id")),
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorBody)))]
pub async fn disable_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ConnectionView> {
    Ok(Json(
        connections::set_connection_disabled(&state, &c.actor, &id, true).await?,
    ))
}

/// Enable a disabled connection.
#[utoipa::path(post, path = "/connections/{id}/enable", tag = "Connections",
    params(("id" = String, Path, description = "connection id")),
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorBody)))]
pub async fn enable_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ConnectionView> {
    Ok(Json(
        connections::set_connection_disabled(&state, &c.actor, &id, false).await?,
    ))
}
