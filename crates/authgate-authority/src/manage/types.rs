//! What the admin operations take and return: the admin API's JSON bodies
//! (with their OpenAPI schemas) and what the dashboard renders.

use authgate_core::model::{
    AuditEvent, Client, ClientKind, Resource, Role, SigningKeyRecord, User,
};
use authgate_core::scope::ScopeDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn yes() -> bool {
    true
}

/// A scope an MCP server defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDto {
    /// The scope token, e.g. `weather:read`.
    pub name: String,
    /// Shown to people on the consent page.
    #[serde(default)]
    pub description: String,
    /// Scopes this one implies (`weather:write` implies `weather:read`).
    #[serde(default)]
    pub implies: Vec<String>,
}

impl From<&ScopeDef> for ScopeDto {
    fn from(d: &ScopeDef) -> Self {
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            implies: d.implies.clone(),
        }
    }
}

impl From<ScopeDto> for ScopeDef {
    fn from(d: ScopeDto) -> Self {
        Self {
            name: d.name.trim().to_owned(),
            description: d.description.trim().to_owned(),
            implies: d
                .implies
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

/// An MCP server to add or the new state of one (PUT replaces every field).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// Short identifier (letters, digits, `-`, `_`, `.`). Derived from the
    /// name when omitted on create; ignored on update (the path names it).
    #[serde(default)]
    pub id: Option<String>,
    /// Shown on consent pages.
    pub name: String,
    /// The MCP server's URL; issued verbatim as the tokens' `aud`.
    pub uri: String,
    #[serde(default)]
    pub scopes: Vec<ScopeDto>,
    /// Scopes granted when a client asks for none.
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// 60 to 31622400 seconds (default 3600).
    #[serde(default)]
    pub access_token_ttl_secs: Option<i64>,
    /// 60 to 31622400 seconds (default 14 days).
    #[serde(default)]
    pub refresh_token_idle_ttl_secs: Option<i64>,
    /// 60 to 31622400 seconds (default 90 days).
    #[serde(default)]
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    /// Accept clients that registered themselves (RFC 7591). Default true.
    #[serde(default = "yes")]
    pub allow_dynamic_registration: bool,
    /// Accept clients identified by a metadata document URL. Default true.
    #[serde(default = "yes")]
    pub allow_client_id_metadata_documents: bool,
    /// Give dynamic and metadata document clients the client_credentials
    /// grant (machine tokens for anonymous clients). Default false.
    #[serde(default)]
    pub allow_dynamic_client_credentials: bool,
    #[serde(default)]
    pub documentation_uri: Option<String>,
    /// The MCP server's logo on the consent page (https).
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// Self sign-up from this server's authorization requests: `inherit`
    /// (the instance's `[signup]`, the default), `open` or `closed`.
    #[serde(default)]
    #[schema(value_type = String, example = "inherit")]
    pub signup: authgate_core::model::SignupPolicy,
}

/// A registered MCP server (protected resource).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    pub id: String,
    pub name: String,
    pub uri: String,
    pub scopes: Vec<ScopeDto>,
    pub default_scopes: Vec<String>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_idle_ttl_secs: i64,
    pub refresh_token_absolute_ttl_secs: i64,
    pub allow_dynamic_registration: bool,
    pub allow_client_id_metadata_documents: bool,
    pub allow_dynamic_client_credentials: bool,
    pub documentation_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// Self sign-up: `inherit`, `open` or `closed`.
    #[schema(value_type = String, example = "inherit")]
    pub signup: authgate_core::model::SignupPolicy,
    /// The built-in admin API resource (cannot be changed or deleted).
    pub builtin: bool,
    /// Where the MCP server must serve its metadata (path-inserted).
    pub metadata_url: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            uri: r.uri.clone(),
            scopes: r.scopes.iter().map(ScopeDto::from).collect(),
            default_scopes: r.default_scopes.clone(),
            access_token_ttl_secs: r.access_token_ttl_secs,
            refresh_token_idle_ttl_secs: r.refresh_token_idle_ttl_secs,
            refresh_token_absolute_ttl_secs: r.refresh_token_absolute_ttl_secs,
            allow_dynamic_registration: r.allow_dynamic_registration,
            allow_client_id_metadata_documents: r.allow_client_id_metadata_documents,
            allow_dynamic_client_credentials: r.allow_dynamic_client_credentials,
            documentation_uri: r.documentation_uri.clone(),
            logo_uri: r.logo_uri.clone(),
            signup: r.signup,
            builtin: crate::builtin::is_builtin(&r.id),
            metadata_url: crate::resource_metadata::metadata_url(r),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceList {
    pub items: Vec<ResourceView>,
    pub total: usize,
    /// Pass as `offset` for the next page; absent on the last page.
    pub next_offset: Option<usize>,
}

/// Copy-ready code for the MCP server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Snippets {
    /// With the `authgate-resource` crate (axum).
    pub rust: String,
    /// Node.js (Express), no SDK.
    pub node: String,
}

/// What the MCP server must publish.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceMetadataView {
    pub resource_id: String,
    /// Serve `metadata` here (RFC 9728 §3.1, path-inserted).
    pub metadata_url: String,
    /// The RFC 9728 protected resource metadata, exactly.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The `WWW-Authenticate` value to send with 401.
    pub www_authenticate: String,
    pub snippets: Snippets,
}

/// What deleting an MCP server did (or will do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ResourceImpact {
    pub resource_id: String,
    /// Grants (refresh-token families) revoked: those apps must ask again.
    pub grants_revoked: u64,
    /// People's consents removed.
    pub consents_removed: u64,
    /// Pre-registered clients limited to this server (they keep existing but
    /// can no longer get tokens for it).
    pub clients_restricted: Vec<String>,
    /// Access tokens are self-contained JWTs: those already issued stay
    /// valid at the MCP server until they expire, at most this long.
    pub access_tokens_valid_for_at_most_secs: i64,
}

/// One point of a connection check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckPoint {
    /// Stable identifier, e.g. `challenge.resource_metadata`.
    pub id: String,
    /// The question checked.
    pub label: String,
    pub ok: bool,
    /// What was found (and what to fix when not ok).
    pub detail: String,
}

/// What a client sees when it connects to the MCP server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckReport {
    pub resource_id: String,
    pub target: String,
    pub metadata_url: String,
    /// Every point passed.
    pub ok: bool,
    pub points: Vec<CheckPoint>,
}

/// A client to register (pre-registered by an administrator).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// Generated when omitted.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    /// A confidential client gets a secret (shown once). Default true.
    #[serde(default = "yes")]
    pub confidential: bool,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Default: `client_credentials` without redirect URIs, otherwise
    /// `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// MCP server ids the client may get tokens for; `"*"` for every MCP
    /// server but the admin API (`authgate-admin` must be listed by id).
    /// Empty: none (its token requests get `invalid_target`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Scopes the client may be granted (absent: any the server defines).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    /// `pre_registered`, `dynamic` or `metadata_document`.
    pub kind: String,
    /// Who registered it: an administrator, dynamic registration (with
    /// its software id), or the metadata document URL.
    pub source: String,
    pub client_name: Option<String>,
    pub display_name: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub resources: Vec<String>,
    pub allowed_scopes: Option<Vec<String>>,
    pub blocked: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub fn client_source(c: &Client) -> String {
    match c.kind {
        ClientKind::MetadataDocument => c.client_id.clone(),
        ClientKind::Dynamic => match &c.metadata.software_id {
            Some(s) => format!("dynamic registration ({s})"),
            None => "dynamic registration".into(),
        },
        ClientKind::PreRegistered => "administrator".into(),
    }
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            kind: c.kind.as_str().into(),
            source: client_source(c),
            client_name: c.metadata.client_name.clone(),
            display_name: c.display_name().to_owned(),
            token_endpoint_auth_method: c.metadata.token_endpoint_auth_method.as_str().into(),
            redirect_uris: c.metadata.redirect_uris.clone(),
            grant_types: c.metadata.grant_types.clone(),
            resources: c.resources.clone(),
            allowed_scopes: c.allowed_scopes.clone(),
            blocked: c.blocked,
            created_at: c.created_at,
            last_used_at: c.last_used_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientView>,
    pub total: usize,
    pub next_offset: Option<usize>,
}

/// A registered client and, for a confidential one, its secret — shown
/// only in this answer; authgate keeps only a hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientCreated {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// A new secret (the old one stops working now). Shown only once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretRotated {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ClientDeleted {
    pub client_id: String,
    pub grants_revoked: u64,
    pub consents_removed: u64,
    /// Access tokens already issued stay valid until they expire.
    pub access_tokens_valid_for_at_most_secs: i64,
}

/// A person to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `user` (the default), `auditor` (reads the dashboard and the admin
    /// API, changes nothing) or `admin`.
    #[serde(default = "user_role")]
    #[schema(value_type = String, example = "user")]
    pub role: Role,
    /// Optional initial password (at least 8 characters). Without one the
    /// answer carries a one-time link where the person sets it.
    #[serde(default)]
    pub password: Option<String>,
    /// The operator vouches that the address is the person's (default:
    /// unverified until they open a verification link).
    #[serde(default)]
    pub email_verified: bool,
}

fn user_role() -> Role {
    Role::User
}

/// New values for a person's email and name (absent: unchanged).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEdit {
    /// Must not be another person's.
    #[serde(default)]
    pub email: Option<String>,
    /// An empty name removes it.
    #[serde(default)]
    pub name: Option<String>,
}

/// A person's new role.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// `user`, `auditor` or `admin`.
    #[schema(value_type = String, example = "auditor")]
    pub role: Role,
}

/// Which people a list shows; every filter optional.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Part of the email or name (case-insensitive).
    pub text: Option<String>,
    pub role: Option<Role>,
    /// `Some(true)`: disabled people only; `Some(false)`: active only.
    pub disabled: Option<bool>,
}

/// What "sign out everywhere" (or disabling a person) ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SignedOut {
    pub user_id: String,
    /// Browser sessions deleted.
    pub sessions_ended: u64,
    /// Grants revoked, with every refresh token in them.
    pub grants_revoked: u64,
}

/// What deleting a person removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserDeleted {
    pub user_id: String,
    pub email: String,
    /// Grants deleted, with their refresh tokens (access tokens of those
    /// grants fail introspection at once and expire on their own).
    pub grants_removed: u64,
    pub consents_removed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    /// `user`, `auditor` or `admin`.
    #[schema(value_type = String, example = "admin")]
    pub role: Role,
    pub disabled: bool,
    /// The person proved they receive mail at `email` (a link, an
    /// invitation, an operator, or an upstream the operator trusts).
    pub email_verified: bool,
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            disabled: u.disabled,
            email_verified: u.email_verified,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    pub total: usize,
    pub next_offset: Option<usize>,
}

/// A single-use link (only its hash is stored).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OneTimeLink {
    pub url: String,
    pub expires_at: i64,
}

/// An invitation: the person gets a mail with a single-use link (7 days)
/// where they choose their password; using it verifies their address.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationSent {
    /// The invited person (no password until they accept).
    pub user: UserView,
    /// When the link stops working (the link itself went only by mail).
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserCreated {
    pub user: UserView,
    /// Where the person sets a password (when none was given).
    pub password_link: Option<OneTimeLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    pub id: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// What a person allowed one client for one MCP server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppView {
    pub client_id: String,
    pub client_name: String,
    pub resource_id: String,
    pub resource_name: String,
    /// Scopes the person consented to (absent when only grants remain).
    pub consented_scopes: Option<Vec<String>>,
    pub consented_at: Option<i64>,
    /// Live grants (refresh-token families).
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppList {
    pub user_id: String,
    pub items: Vec<AppView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    pub client_id: String,
    pub resource_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Revoked {
    pub consent_removed: bool,
    pub grants_revoked: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// `active` (signs new tokens), `retired` (still published) or
    /// `expired` (leaves JWKS at the next purge).
    pub state: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// When a retired key leaves the JWKS.
    pub remove_after: Option<i64>,
}

impl KeyView {
    /// `signs`: the key signs new access or ID tokens.
    pub fn new(k: &SigningKeyRecord, signs: bool, now: i64) -> Self {
        let state = if signs {
            "active"
        } else if k.remove_after.is_some_and(|t| t <= now) {
            "expired"
        } else {
            "retired"
        };
        Self {
            kid: k.kid.clone(),
            alg: k.alg.as_str().into(),
            state: state.into(),
            created_at: k.created_at,
            retired_at: k.retired_at,
            remove_after: k.remove_after,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyRotated {
    /// The new active key.
    pub kid: String,
    pub alg: String,
    /// Previous keys stay published until this time.
    pub previous_published_until: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyRetired {
    pub kid: String,
    /// Tokens it signed no longer verify.
    pub removed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    /// Unix time (seconds).
    pub at: i64,
    pub event: String,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub resource_id: Option<String>,
    pub address: Option<String>,
    pub outcome: String,
    /// Event-specific facts. `occurrences` (when present): how many
    /// identical events, in the same second, this entry stands for.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for AuditView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            event: e.event,
            actor: e.actor,
            client_id: e.client_id,
            resource_id: e.resource_id,
            address: e.address,
            outcome: e.outcome,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Every error the admin API answers with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`,
    /// `access_denied` (the person's role may not do this: an auditor
    /// writing), `not_found`, `conflict` or `server_error`.
    pub error: String,
    pub error_description: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
