//! Admin API handlers: extract, call [`authgate_authority::manage`], answer JSON.

use super::auth::Caller;
use super::failure::Failure;
use super::json::JsonBody;
use crate::state::SharedState;
use authgate_authority::manage::types::*;
use authgate_authority::manage::{self, AdminError};
use authgate_core::model::Role;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;
type ApiResult<T> = Result<Json<T>, Failure>;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

fn number<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, AdminError> {
    match q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| AdminError::invalid(key, format!("{v:?} is not a valid number"))),
    }
}

/// `limit` (1-500, default 50) and `offset` (default 0).
fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), AdminError> {
    let limit = number::<usize>(q, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AdminError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok((number::<usize>(q, "offset")?.unwrap_or(0), limit))
}

fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

// ------------------------------------------------------------ MCP servers

/// List MCP servers (protected resources), oldest first.
#[utoipa::path(get, path = "/resources", tag = "MCP servers",
    params(("limit" = Option<usize>, Query, description = "1-500, default 50"),
           ("offset" = Option<usize>, Query, description = "items to skip, default 0")),
    responses((status = 200, body = ResourceList)))]
pub async fn list_resources(
    _c: Caller,
    State(state): State<SharedState>,
    Query(q): Q,
) -> ApiResult<ResourceList> {
    let (offset, limit) = paging(&q)?;
    let all = state.store.list_resources().await?;
    let (items, total, next_offset) = manage::page(all, offset, limit);
    Ok(Json(ResourceList {
        items: items.iter().map(ResourceView::from).collect(),
        total,
        next_offset,
    }))
}

/// Add an MCP server.
#[utoipa::path(post, path = "/resources", tag = "MCP servers", request_body = ResourceInput,
    responses((status = 201, body = ResourceView), (status = 409, body = ErrorBody, description = "id or URL in use")))]
pub async fn create_resource(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<ResourceInput>,
) -> Result<Response, Failure> {
    let r = manage::create_resource(&state, &c.actor, input).await?;
    Ok(created(ResourceView::from(&r)))
}

/// One MCP server.
#[utoipa::path(get, path = "/resources/{id}", tag = "MCP servers",
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = ResourceView), (status = 404, body = ErrorBody)))]
pub async fn get_resource(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceView> {
    Ok(Json(ResourceView::from(
        &manage::get_resource(&state, &id).await?,
    )))
}

/// Replace an MCP server's settings (every field; the path names it).
#[utoipa::path(put, path = "/resources/{id}", tag = "MCP servers", request_body = ResourceInput,
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = ResourceView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_resource(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ResourceInput>,
) -> ApiResult<ResourceView> {
    let r = manage::update_resource(&state, &c.actor, &id, input).await?;
    Ok(Json(ResourceView::from(&r)))
}

/// Delete an MCP server: revokes every grant and consent for it, and says so.
#[utoipa::path(delete, path = "/resources/{id}", tag = "MCP servers",
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = ResourceImpact), (status = 404, body = ErrorBody)))]
pub async fn delete_resource(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceImpact> {
    Ok(Json(manage::delete_resource(&state, &c.actor, &id).await?))
}

/// What the MCP server must publish: metadata JSON, challenge, snippets.
#[utoipa::path(get, path = "/resources/{id}/metadata", tag = "MCP servers",
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = ResourceMetadataView), (status = 404, body = ErrorBody)))]
pub async fn resource_metadata(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceMetadataView> {
    let r = manage::get_resource(&state, &id).await?;
    Ok(Json(manage::resource_metadata(&state, &r)))
}

/// Connection check: fetch the MCP server and its metadata as a client would.
#[utoipa::path(post, path = "/resources/{id}/check", tag = "MCP servers",
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = CheckReport), (status = 404, body = ErrorBody)))]
pub async fn check_resource(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<CheckReport> {
    let r = manage::get_resource(&state, &id).await?;
    let report = manage::check_resource(&state, &c.actor, &r).await;
    Ok(Json(report))
}

/// The admin API's own protected resource metadata (RFC 9728).
pub async fn protected_resource_metadata(
    State(state): State<SharedState>,
) -> Result<Response, Failure> {
    let r = manage::get_resource(&state, authgate_authority::builtin::ADMIN_RESOURCE_ID).await?;
    Ok(Json(authgate_authority::resource_metadata::metadata(
        &state.settings.issuer,
        &r,
    ))
    .into_response())
}

// ---------------------------------------------------------------- clients

/// List clients: pre-registered, dynamic and metadata-document ones.
#[utoipa::path(get, path = "/clients", tag = "Clients",
    params(("limit" = Option<usize>, Query, description = "1-500, default 50"),
           ("offset" = Option<usize>, Query, description = "items to skip, default 0"),
           ("kind" = Option<String>, Query, description = "pre_registered, dynamic or metadata_document")),
    responses((status = 200, body = ClientList)))]
pub async fn list_clients(
    _c: Caller,
    State(state): State<SharedState>,
    Query(q): Q,
) -> ApiResult<ClientList> {
    let (offset, limit) = paging(&q)?;
    let kind = match q.get("kind").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(authgate_core::model::ClientKind::parse(k).ok_or_else(|| {
            AdminError::invalid(
                "kind",
                "must be pre_registered, dynamic or metadata_document",
            )
        })?),
    };
    let all: Vec<_> = state
        .store
        .list_clients()
        .await?
        .into_iter()
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .collect();
    let (items, total, next_offset) = manage::page(all, offset, limit);
    Ok(Json(ClientList {
        items: items.iter().map(ClientView::from).collect(),
        total,
        next_offset,
    }))
}

/// Register a client; a confidential one's secret is in this answer only.
#[utoipa::path(post, path = "/clients", tag = "Clients", request_body = ClientInput,
    responses((status = 201, body = ClientCreated), (status = 409, body = ErrorBody)))]
pub async fn create_client(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<ClientInput>,
) -> Result<Response, Failure> {
    let (client, secret) = manage::create_client(&state, &c.actor, input).await?;
    Ok(created(ClientCreated {
        client: ClientView::from(&client),
        client_secret: secret,
    }))
}

/// One client.
#[utoipa::path(get, path = "/clients/{client_id}", tag = "Clients",
    params(("client_id" = String, Path, description = "client id (percent-encoded)")),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ClientView> {
    Ok(Json(ClientView::from(
        &manage::get_client(&state, &id).await?,
    )))
}

/// Delete a client: revokes its grants and consents.
#[utoipa::path(delete, path = "/clients/{client_id}", tag = "Clients",
    params(("client_id" = String, Path, description = "client id (percent-encoded)")),
    responses((status = 200, body = ClientDeleted), (status = 404, body = ErrorBody)))]
pub async fn delete_client(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ClientDeleted> {
    Ok(Json(manage::delete_client(&state, &c.actor, &id).await?))
}

/// Give a confidential client a new secret (the old one stops working).
#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "Clients",
    params(("client_id" = String, Path, description = "client id (percent-encoded)")),
    responses((status = 200, body = SecretRotated), (status = 404, body = ErrorBody)))]
pub async fn rotate_client_secret(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<SecretRotated> {
    let secret = manage::rotate_client_secret(&state, &c.actor, &id).await?;
    Ok(Json(SecretRotated {
        client_id: id,
        client_secret: secret,
    }))
}

/// Block a client: it can no longer authenticate or be authorized.
#[utoipa::path(post, path = "/clients/{client_id}/block", tag = "Clients",
    params(("client_id" = String, Path, description = "client id (percent-encoded)")),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn block_client(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ClientView> {
    let client = manage::set_client_blocked(&state, &c.actor, &id, true).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Unblock a client.
#[utoipa::path(post, path = "/clients/{client_id}/unblock", tag = "Clients",
    params(("client_id" = String, Path, description = "client id (percent-encoded)")),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn unblock_client(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ClientView> {
    let client = manage::set_client_blocked(&state, &c.actor, &id, false).await?;
    Ok(Json(ClientView::from(&client)))
}

// ------------------------------------------------------------------ users

/// The people list's filters: `q` (email or name), `role`, `status`.
fn user_filter(q: &HashMap<String, String>) -> Result<UserFilter, AdminError> {
    let given = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let role = match given("role") {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| {
            AdminError::invalid("role", format!("{r:?} is not user, auditor or admin"))
        })?),
    };
    let disabled = match given("status") {
        None => None,
        Some("active") => Some(false),
        Some("disabled") => Some(true),
        Some(s) => {
            return Err(AdminError::invalid(
                "status",
                format!("{s:?} is not active or disabled"),
            ));
        }
    };
    Ok(UserFilter {
        text: given("q").map(str::to_owned),
        role,
        disabled,
    })
}

/// List people who sign in, oldest first, filtered.
#[utoipa::path(get, path = "/users", tag = "Users",
    params(("q" = Option<String>, Query, description = "part of the email or name (case-insensitive)"),
           ("role" = Option<String>, Query, description = "user, auditor or admin"),
           ("status" = Option<String>, Query, description = "active or disabled"),
           ("limit" = Option<usize>, Query, description = "1-500, default 50"),
           ("offset" = Option<usize>, Query, description = "items to skip, default 0")),
    responses((status = 200, body = UserList)))]
pub async fn list_users(
    _c: Caller,
    State(state): State<SharedState>,
    Query(q): Q,
) -> ApiResult<UserList> {
    let (offset, limit) = paging(&q)?;
    Ok(Json(
        manage::list_users(&state, user_filter(&q)?, offset, limit).await?,
    ))
}

/// Add a person (with a password, or get a one-time link to set one).
#[utoipa::path(post, path = "/users", tag = "Users", request_body = UserInput,
    responses((status = 201, body = UserCreated), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Response, Failure> {
    let (u, link) = manage::create_user(&state, &c.actor, input).await?;
    Ok(created(UserCreated {
        user: UserView::from(&u),
        password_link: link,
    }))
}

/// Invite a person by mail: an account without a password, and a
/// single-use link (7 days) where they choose one; using it verifies their
/// address. Needs `[smtp]`. An address with an invitation not yet
/// accepted gets a new link; delete the person to revoke it.
#[utoipa::path(post, path = "/invitations", tag = "Users", request_body = InvitationInput,
    responses((status = 201, body = InvitationSent), (status = 400, body = ErrorBody, description = "not an address, or no [smtp]"), (status = 409, body = ErrorBody, description = "the address has an account")))]
pub async fn create_invitation(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<InvitationInput>,
) -> Result<Response, Failure> {
    Ok(created(crate::mail::invite(&state, &c.actor, input).await?))
}

/// One person.
#[utoipa::path(get, path = "/users/{id}", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<UserView> {
    Ok(Json(UserView::from(&manage::get_user(&state, &id).await?)))
}

/// Change a person's email (unique) or name.
#[utoipa::path(patch, path = "/users/{id}", tag = "Users", request_body = UserEdit,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the email is another person's")))]
pub async fn update_user(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(edit): JsonBody<UserEdit>,
) -> ApiResult<UserView> {
    Ok(Json(UserView::from(
        &manage::update_user(&state, &c.actor, &id, edit).await?,
    )))
}

/// Delete a person with their sessions, consents and grants (refresh
/// tokens). Not the last active administrator, not yourself.
#[utoipa::path(delete, path = "/users/{id}", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserDeleted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the last active administrator, or yourself")))]
pub async fn delete_user(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<UserDeleted> {
    Ok(Json(manage::delete_user(&state, &c.actor, &id).await?))
}

/// Give a person a role: `user`, `auditor` (read-only) or `admin`.
#[utoipa::path(post, path = "/users/{id}/role", tag = "Users", request_body = RoleInput,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the last active administrator")))]
pub async fn set_user_role(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RoleInput>,
) -> ApiResult<UserView> {
    Ok(Json(UserView::from(
        &manage::set_user_role(&state, &c.actor, &id, input.role).await?,
    )))
}

/// Sign a person out everywhere: every session ends and every grant is
/// revoked with its refresh tokens.
#[utoipa::path(post, path = "/users/{id}/sign-out", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = SignedOut), (status = 404, body = ErrorBody)))]
pub async fn sign_out_user(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<SignedOut> {
    Ok(Json(
        manage::sign_out_everywhere(&state, &c.actor, &id).await?,
    ))
}

/// Reset a person's two-step verification: their authenticator app,
/// recovery codes and passkeys are removed and their sessions end (for a
/// person who lost them; they sign in with the password next and enrol
/// again where MFA is required).
#[utoipa::path(post, path = "/users/{id}/mfa-reset", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = authgate_authority::mfa::MfaReset), (status = 404, body = ErrorBody)))]
pub async fn reset_user_mfa(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<authgate_authority::mfa::MfaReset> {
    Ok(Json(manage::reset_mfa(&state, &c.actor, &id).await?))
}

/// Verify a person's email address: `{"send": false}` marks it verified
/// now (the operator knows it is theirs); `{"send": true}` mails them a
/// verification link (needs `[smtp]`).
#[utoipa::path(post, path = "/users/{id}/verify-email", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    request_body = authgate_authority::manage::VerifyEmailInput,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify_user_email(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<authgate_authority::manage::VerifyEmailInput>,
) -> ApiResult<UserView> {
    Ok(Json(
        crate::mail::operator_verify_email(&state, &c.actor, &id, input).await?,
    ))
}

/// Disable a person: no sign-in, no refresh; their sessions and grants end
/// at once.
#[utoipa::path(post, path = "/users/{id}/disable", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "last administrator")))]
pub async fn disable_user(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<UserView> {
    Ok(Json(UserView::from(
        &manage::set_user_disabled(&state, &c.actor, &id, true).await?,
    )))
}

/// Enable a disabled person.
#[utoipa::path(post, path = "/users/{id}/enable", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn enable_user(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<UserView> {
    Ok(Json(UserView::from(
        &manage::set_user_disabled(&state, &c.actor, &id, false).await?,
    )))
}

/// Reset a password: a one-time link (24 h) where the person sets a new
/// one. The person's sessions and grants end at once.
#[utoipa::path(post, path = "/users/{id}/password-link", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = OneTimeLink), (status = 404, body = ErrorBody)))]
pub async fn password_link(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<OneTimeLink> {
    Ok(Json(manage::password_link(&state, &c.actor, &id).await?))
}

/// The apps a person allowed, with their live grants.
#[utoipa::path(get, path = "/users/{id}/grants", tag = "Users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = AppList), (status = 404, body = ErrorBody)))]
pub async fn user_grants(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<AppList> {
    let items = manage::user_apps(&state, &id).await?;
    Ok(Json(AppList { user_id: id, items }))
}

/// Revoke what a person allowed a client for an MCP server: the consent
/// and every grant (refresh tokens; access tokens of those grants).
#[utoipa::path(post, path = "/users/{id}/grants/revoke", tag = "Users", request_body = RevokeInput,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = Revoked), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_grant(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RevokeInput>,
) -> ApiResult<Revoked> {
    Ok(Json(
        manage::revoke_app(&state, &c.actor, &id, input).await?,
    ))
}

// ------------------------------------------------------------------- keys

/// Signing keys, oldest first.
#[utoipa::path(get, path = "/keys", tag = "Signing keys", responses((status = 200, body = KeyList)))]
pub async fn list_keys(_c: Caller, State(state): State<SharedState>) -> ApiResult<KeyList> {
    Ok(Json(KeyList {
        items: manage::list_keys(&state).await?,
    }))
}

/// Rotate: a new key signs from now; older keys stay published until the
/// tokens they signed have expired.
#[utoipa::path(post, path = "/keys/rotate", tag = "Signing keys", responses((status = 200, body = KeyRotated)))]
pub async fn rotate_key(c: Caller, State(state): State<SharedState>) -> ApiResult<KeyRotated> {
    Ok(Json(manage::rotate_key(&state, &c.actor).await?))
}

/// Retire a non-active key now: it leaves the JWKS and tokens it signed
/// stop verifying.
#[utoipa::path(post, path = "/keys/{kid}/retire", tag = "Signing keys",
    params(("kid" = String, Path, description = "key id")),
    responses((status = 200, body = KeyRetired), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the active key")))]
pub async fn retire_key(
    c: Caller,
    State(state): State<SharedState>,
    Path(kid): Path<String>,
) -> ApiResult<KeyRetired> {
    Ok(Json(manage::retire_key(&state, &c.actor, &kid).await?))
}

// ------------------------------------------------------------------ audit

/// The audit log, newest first.
#[utoipa::path(get, path = "/audit", tag = "Audit log",
    params(("q" = Option<String>, Query, description = "substring of event, actor, client or resource"),
           ("before" = Option<i64>, Query, description = "events older than this id (the previous page's next_before)"),
           ("limit" = Option<i64>, Query, description = "1-500, default 50")),
    responses((status = 200, body = AuditPage)))]
pub async fn audit(
    _c: Caller,
    State(state): State<SharedState>,
    Query(q): Q,
) -> ApiResult<AuditPage> {
    let limit = number::<i64>(&q, "limit")?.unwrap_or(DEFAULT_LIMIT as i64);
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(
            AdminError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")).into(),
        );
    }
    let before = number::<i64>(&q, "before")?;
    let text = q.get("q").map(String::as_str);
    if text.is_some_and(|t| t.len() > 200) {
        return Err(AdminError::invalid("q", "must be at most 200 characters").into());
    }
    Ok(Json(manage::audit_page(&state, text, before, limit).await?))
}
