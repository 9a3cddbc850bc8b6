//! Admin API handlers for organizations (issue 19): the organization, its
//! verified email domains, its connections, and the group -> scope rules
//! of an MCP server. Each calls [`authgate_authority::orgs::manage`], the
//! same functions the CLI and the dashboard use.

use super::auth::Caller;
use super::failure::Failure;
use super::json::JsonBody;
use crate::state::SharedState;
use authgate_authority::manage::AdminError;
use authgate_authority::manage::types::ErrorBody;
use authgate_authority::orgs::dns::HickoryResolver;
use authgate_authority::orgs::manage::{self as orgs, DomainView, OrgDisabled, OrgInput, OrgView};
use authgate_core::org::ScopeGroupRule;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<Json<T>, Failure>;

/// Every organization, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgList {
    pub items: Vec<OrgView>,
}

/// A domain to claim for an organization.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DomainInput {
    /// An email domain (`example.com`); internationalized names are
    /// stored in their ASCII form.
    pub domain: String,
}

/// A connection (identity provider) to add to an organization. (Its own
/// schema name: `ConnectionInput` is the body of `POST /connections`.)
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = OrgConnectionInput)]
pub struct ConnectionInput {
    pub connection_id: String,
}

/// The groups that may be granted one scope of an MCP server. An empty
/// list removes the rule (everyone may consent to the scope again).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScopeRuleInput {
    pub groups: Vec<String>,
}

/// One group -> scope rule.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScopeRuleView {
    pub resource_id: String,
    pub scope: String,
    /// Groups as the upstream identity provider reports them.
    pub groups: Vec<String>,
}

impl From<ScopeGroupRule> for ScopeRuleView {
    fn from(r: ScopeGroupRule) -> Self {
        Self {
            resource_id: r.resource_id,
            scope: r.scope,
            groups: r.groups,
        }
    }
}

/// An MCP server's group -> scope rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScopeRuleList {
    pub items: Vec<ScopeRuleView>,
}

/// What a deletion removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

/// List organizations.
#[utoipa::path(get, path = "/orgs", tag = "Organizations",
    responses((status = 200, body = OrgList)))]
pub async fn list_orgs(_c: Caller, State(state): State<SharedState>) -> ApiResult<OrgList> {
    Ok(Json(OrgList {
        items: orgs::list_orgs(&state).await?,
    }))
}

/// Add an organization.
#[utoipa::path(post, path = "/orgs", tag = "Organizations", request_body = OrgInput,
    responses((status = 201, body = OrgView), (status = 409, body = ErrorBody, description = "the id is in use")))]
pub async fn create_org(
    c: Caller,
    State(state): State<SharedState>,
    JsonBody(input): JsonBody<OrgInput>,
) -> Result<Response, Failure> {
    let org = orgs::create_org(&state, &c.actor, input).await?;
    Ok((StatusCode::CREATED, Json(org)).into_response())
}

/// One organization with its domains.
#[utoipa::path(get, path = "/orgs/{id}", tag = "Organizations",
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn get_org(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<OrgView> {
    Ok(Json(orgs::show_org(&state, &id).await?))
}

/// Replace an organization's settings (name, connections, password and
/// MFA policy; the path names it).
#[utoipa::path(put, path = "/orgs/{id}", tag = "Organizations", request_body = OrgInput,
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn update_org(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<OrgInput>,
) -> ApiResult<OrgView> {
    Ok(Json(orgs::update_org(&state, &c.actor, &id, input).await?))
}

/// Delete an organization and its domains (its members keep their
/// accounts; they sign in as people of no organization).
#[utoipa::path(delete, path = "/orgs/{id}", tag = "Organizations",
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)))]
pub async fn delete_org(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Deleted> {
    orgs::delete_org(&state, &c.actor, &id).await?;
    Ok(Json(Deleted { deleted: id }))
}

/// Deactivate an organization: its members cannot sign in, and their
/// sessions and grants end at once.
#[utoipa::path(post, path = "/orgs/{id}/disable", tag = "Organizations",
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = OrgDisabled), (status = 404, body = ErrorBody)))]
pub async fn disable_org(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<OrgDisabled> {
    Ok(Json(
        orgs::set_org_disabled(&state, &c.actor, &id, true).await?,
    ))
}

/// Reactivate an organization.
#[utoipa::path(post, path = "/orgs/{id}/enable", tag = "Organizations",
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = OrgDisabled), (status = 404, body = ErrorBody)))]
pub async fn enable_org(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<OrgDisabled> {
    Ok(Json(
        orgs::set_org_disabled(&state, &c.actor, &id, false).await?,
    ))
}

/// Claim an email domain; the answer says which DNS TXT record proves it.
#[utoipa::path(post, path = "/orgs/{id}/domains", tag = "Organizations", request_body = DomainInput,
    params(("id" = String, Path, description = "organization id")),
    responses((status = 201, body = DomainView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "another organization claims it")))]
pub async fn add_domain(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<DomainInput>,
) -> Result<Response, Failure> {
    let d = orgs::add_domain(&state, &c.actor, &id, &input.domain).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

/// Verify a domain by its DNS TXT record (looked up now, 5 s at most).
#[utoipa::path(post, path = "/orgs/{id}/domains/{domain}/verify", tag = "Organizations",
    params(("id" = String, Path, description = "organization id"),
           ("domain" = String, Path, description = "the claimed domain")),
    responses((status = 200, body = DomainView), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody, description = "the TXT record is missing or wrong, or DNS failed (field `domain` says which)")))]
pub async fn verify_domain(
    c: Caller,
    State(state): State<SharedState>,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<DomainView> {
    let resolver = HickoryResolver::system().map_err(|e| {
        AdminError::invalid("domain", format!("no DNS resolver on this machine: {e}"))
    })?;
    Ok(Json(
        orgs::verify_domain(&state, &c.actor, &resolver, &id, &domain).await?,
    ))
}

/// Mark a domain verified without DNS (the operator vouches; audited).
#[utoipa::path(post, path = "/orgs/{id}/domains/{domain}/mark-verified", tag = "Organizations",
    params(("id" = String, Path, description = "organization id"),
           ("domain" = String, Path, description = "the claimed domain")),
    responses((status = 200, body = DomainView), (status = 404, body = ErrorBody)))]
pub async fn mark_domain_verified(
    c: Caller,
    State(state): State<SharedState>,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<DomainView> {
    Ok(Json(
        orgs::mark_domain_verified(&state, &c.actor, &id, &domain).await?,
    ))
}

/// Remove a domain from an organization.
#[utoipa::path(delete, path = "/orgs/{id}/domains/{domain}", tag = "Organizations",
    params(("id" = String, Path, description = "organization id"),
           ("domain" = String, Path, description = "the claimed domain")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)))]
pub async fn remove_domain(
    c: Caller,
    State(state): State<SharedState>,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<Deleted> {
    orgs::remove_domain(&state, &c.actor, &id, &domain).await?;
    Ok(Json(Deleted { deleted: domain }))
}

/// Add a connection its members sign in through.
#[utoipa::path(post, path = "/orgs/{id}/connections", tag = "Organizations", request_body = ConnectionInput,
    params(("id" = String, Path, description = "organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn add_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> ApiResult<OrgView> {
    Ok(Json(
        orgs::set_connection(&state, &c.actor, &id, &input.connection_id, true).await?,
    ))
}

/// Remove a connection from an organization.
#[utoipa::path(delete, path = "/orgs/{id}/connections/{connection_id}", tag = "Organizations",
    params(("id" = String, Path, description = "organization id"),
           ("connection_id" = String, Path, description = "connection id")),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn remove_connection(
    c: Caller,
    State(state): State<SharedState>,
    Path((id, connection_id)): Path<(String, String)>,
) -> ApiResult<OrgView> {
    Ok(Json(
        orgs::set_connection(&state, &c.actor, &id, &connection_id, false).await?,
    ))
}

/// An MCP server's group -> scope rules.
#[utoipa::path(get, path = "/resources/{id}/scope-rules", tag = "Organizations",
    params(("id" = String, Path, description = "MCP server id")),
    responses((status = 200, body = ScopeRuleList), (status = 404, body = ErrorBody)))]
pub async fn list_scope_rules(
    _c: Caller,
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<ScopeRuleList> {
    authgate_authority::manage::get_resource(&state, &id).await?;
    let rules = orgs::list_scope_rules(&state, &id).await?;
    Ok(Json(ScopeRuleList {
        items: rules.into_iter().map(ScopeRuleView::from).collect(),
    }))
}

/// Limit one scope of an MCP server to people in these upstream groups
/// (an empty list removes the limit). A person outside every group cannot
/// consent to the scope.
#[utoipa::path(put, path = "/resources/{id}/scope-rules/{scope}", tag = "Organizations", request_body = ScopeRuleInput,
    params(("id" = String, Path, description = "MCP server id"),
           ("scope" = String, Path, description = "one of the server's scopes")),
    responses((status = 200, body = ScopeRuleList), (status = 404, body = ErrorBody)))]
pub async fn set_scope_rule(
    c: Caller,
    State(state): State<SharedState>,
    Path((id, scope)): Path<(String, String)>,
    JsonBody(input): JsonBody<ScopeRuleInput>,
) -> ApiResult<ScopeRuleList> {
    orgs::set_scope_rule(&state, &c.actor, &id, &scope, &input.groups).await?;
    let rules = orgs::list_scope_rules(&state, &id).await?;
    Ok(Json(ScopeRuleList {
        items: rules.into_iter().map(ScopeRuleView::from).collect(),
    }))
}
