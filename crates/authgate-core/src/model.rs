//! The aggregates authgate stores. Storage adapters persist these exactly;
//! protocol rules about them live in the other modules of this crate.

use crate::clock::UnixTime;
use crate::scope::ScopeDef;
use serde::{Deserialize, Serialize};

/// An MCP server registered as an OAuth protected resource (RFC 8707/9728).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Short stable identifier chosen by the operator, e.g. `weather`.
    pub id: String,
    pub name: String,
    /// Canonical URL exactly as registered; issued verbatim as `aud`.
    pub uri: String,
    pub scopes: Vec<ScopeDef>,
    pub default_scopes: Vec<String>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_idle_ttl_secs: i64,
    pub refresh_token_absolute_ttl_secs: i64,
    pub allow_dynamic_registration: bool,
    pub allow_client_id_metadata_documents: bool,
    /// Whether dynamically registered and metadata document clients may use
    /// the client_credentials grant for this server. Off unless the operator
    /// opts in: such a client is anonymous, so a machine token for it would
    /// be a token for anyone (issue 17).
    pub allow_dynamic_client_credentials: bool,
    pub documentation_uri: Option<String>,
    /// The MCP server's logo, shown on the consent page (an https URL; http
    /// only on loopback).
    pub logo_uri: Option<String>,
    /// Whether people may create an account themselves when this server's
    /// authorization request brings them to the sign-in page.
    pub signup: SignupPolicy,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Resource {
    pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 3600;
    pub const DEFAULT_REFRESH_IDLE_TTL: i64 = 14 * 24 * 3600;
    pub const DEFAULT_REFRESH_ABSOLUTE_TTL: i64 = 90 * 24 * 3600;
}

/// A resource's self sign-up rule: the instance's `[signup]` setting
/// (`inherit`), or always allowed / refused for this MCP server. `open`
/// still needs `[smtp]` (verification mail) and keeps the instance's
/// domain limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupPolicy {
    #[default]
    Inherit,
    Open,
    Closed,
}

impl SignupPolicy {
    pub const ALL: [SignupPolicy; 3] = [Self::Inherit, Self::Open, Self::Closed];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Registered by an administrator (config file, CLI, admin API).
    PreRegistered,
    /// Registered through RFC 7591 dynamic client registration.
    Dynamic,
    /// Identified by a client ID metadata document URL.
    MetadataDocument,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::PreRegistered => "pre_registered",
            ClientKind::Dynamic => "dynamic",
            ClientKind::MetadataDocument => "metadata_document",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pre_registered" => ClientKind::PreRegistered,
            "dynamic" => ClientKind::Dynamic,
            "metadata_document" => ClientKind::MetadataDocument,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    #[default]
    None,
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::None => "none",
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "client_secret_basic" => Self::ClientSecretBasic,
            "client_secret_post" => Self::ClientSecretPost,
            "private_key_jwt" => Self::PrivateKeyJwt,
            _ => return None,
        })
    }
    pub fn is_confidential(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// Client metadata (RFC 7591 §2), stored and echoed as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// OIDC Dynamic Client Registration §2: how this client's ID tokens are
    /// signed; `None` means RS256, the OIDC default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<SigningAlg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub kind: ClientKind,
    pub metadata: ClientMetadata,
    /// SHA-256 of the client secret (confidential clients only).
    pub secret_hash: Option<String>,
    /// SHA-256 of the RFC 7592 registration access token.
    pub registration_access_token_hash: Option<String>,
    /// What an administrator granted a pre-registered client: the resource
    /// ids it may obtain tokens for. Empty grants nothing; [`ANY_RESOURCE`]
    /// (`"*"`) grants every resource except the built-in admin API, which
    /// must be listed by its id. Dynamic and metadata document clients have
    /// no such list (empty): the resources' switches decide for them.
    pub resources: Vec<String>,
    /// Scopes the client may be granted; `None` means any the resource
    /// defines. An administrator's ceiling on every grant (see
    /// `authgate_server::clients::scope_ceiling`).
    pub allowed_scopes: Option<Vec<String>>,
    pub blocked: bool,
    /// Dynamic registration de-duplication key (hash of the metadata).
    pub registration_fingerprint: Option<String>,
    pub registration_count: i64,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// The entry of [`Client::resources`] that means "every resource but the
/// admin API". Never a valid resource id, so it cannot collide with one.
pub const ANY_RESOURCE: &str = "*";

impl Client {
    /// Whether an administrator listed `resource_id` for this client by
    /// its id (not through [`ANY_RESOURCE`]).
    pub fn lists_resource(&self, resource_id: &str) -> bool {
        self.resources.iter().any(|r| r == resource_id)
    }

    /// Whether an administrator granted this client every resource
    /// (except the admin API) with [`ANY_RESOURCE`].
    pub fn has_any_resource(&self) -> bool {
        self.lists_resource(ANY_RESOURCE)
    }

    /// The scope this client registered as its ceiling: `allowed_scopes`
    /// for a pre-registered client, the RFC 7591 `scope` metadata for a
    /// dynamic or metadata document client (`None`: no ceiling of its own).
    pub fn scope_ceiling(&self) -> Option<Vec<String>> {
        match self.kind {
            ClientKind::PreRegistered => self.allowed_scopes.clone(),
            ClientKind::Dynamic | ClientKind::MetadataDocument => match &self.allowed_scopes {
                Some(a) => Some(a.clone()),
                None => self.metadata.scope.as_deref().map(|s| {
                    s.split(' ')
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                }),
            },
        }
    }

    pub fn display_name(&self) -> &str {
        self.metadata
            .client_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.client_id)
    }
}

/// A person who signs in through authgate's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Lowercased email; unique.
    pub email: String,
    pub name: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub role: Role,
    pub created_at: UnixTime,
    /// The person proved they receive mail at `email` (a verification
    /// link, or an upstream that vouched for it). Self sign-up requires
    /// it before a first consent (see `signed_up`).
    #[serde(default)]
    pub email_verified: bool,
    /// The person created this account themselves (self sign-up). Until
    /// `email_verified`, such an account signs in but is granted nothing:
    /// no consent, no code. Accounts made by an operator, an invitation
    /// or an upstream identity provider keep `false`.
    #[serde(default)]
    pub signed_up: bool,
}

/// What the sign-up hold (`authgate_authority::signup::hold`) reads of a
/// person. Its own type so a grant can carry it without the whole account
/// (the refresh grant reads it in the same query as the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountStanding {
    pub disabled: bool,
    pub email_verified: bool,
    pub signed_up: bool,
}

impl User {
    pub fn standing(&self) -> AccountStanding {
        AccountStanding {
            disabled: self.disabled,
            email_verified: self.email_verified,
            signed_up: self.signed_up,
        }
    }
}

/// What a person may do on the dashboard and the admin API. What each
/// role is allowed is decided in one place, `authgate_authority::manage::roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs in to authorize apps; no dashboard.
    User,
    /// Reads the dashboard, the admin API and the audit log; changes nothing.
    Auditor,
    /// Administers the server.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::User, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s` (as [`Role::as_str`] writes it), if any.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    RS256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => SigningAlg::ES256,
            "RS256" => SigningAlg::RS256,
            "EdDSA" => SigningAlg::EdDSA,
            _ => return None,
        })
    }
}

/// A signing key as stored: the private half encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 private key sealed with the key-encryption key.
    pub private_key_sealed: Vec<u8>,
    /// The public JWK (JSON object) published at jwks_uri.
    pub public_jwk: serde_json::Value,
    pub created_at: UnixTime,
    /// Set when a newer key took over signing.
    pub retired_at: Option<UnixTime>,
    /// After this time the key leaves JWKS (retired_at + longest token lifetime).
    pub remove_after: Option<UnixTime>,
}

/// An authorization code, stored by hash (issue 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub resource_id: String,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub nonce: Option<String>,
    /// The grant (refresh-token family) tokens from this code belong to.
    pub grant_id: String,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
    /// How the person signed in when they approved this code.
    pub auth: AuthContext,
}

/// What happened when a code was redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the caller may issue tokens.
    Redeemed(AuthorizationCode),
    /// Already used: a replay. The caller must revoke the code's grant.
    Replayed(AuthorizationCode),
    NotFound,
}

/// A grant: what one user allowed one client for one resource, and the
/// family of refresh tokens issued under it. Revoking a grant revokes every
/// token issued under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub resource_id: String,
    pub scopes: Vec<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    /// Absolute end of the refresh family.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// How the person signed in when the grant was made; refreshed access
    /// tokens keep carrying it (empty for client credentials).
    pub auth: AuthContext,
}

/// A refresh token, stored by hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub issued_at: UnixTime,
    /// Idle expiry (min of issued_at + idle ttl and the grant's absolute end).
    pub expires_at: UnixTime,
    /// Set when this token was exchanged for its successor.
    pub rotated_at: Option<UnixTime>,
    pub successor_hash: Option<String>,
    pub revoked_at: Option<UnixTime>,
}

/// Everything the refresh grant reads before it rotates, in one read where
/// the backend can: the token, its grant (`None` if the grant is gone) and
/// the standing of the grant's person (whether they may still use it:
/// [`RefreshTokenContext::subject_active`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenContext {
    pub token: RefreshToken,
    pub grant: Option<Grant>,
    /// The standing of the person the grant names, for the refresh's
    /// checks (active, the sign-up hold); `None` when the grant is gone,
    /// has no person or names one who does not exist.
    pub subject: Option<AccountStanding>,
}

impl RefreshTokenContext {
    /// Whether the grant may still be used by its person: true when the
    /// grant has no person (a client's own grant) or names one who exists
    /// and is not disabled; false otherwise (also when the grant is gone).
    pub fn subject_active(&self) -> bool {
        match &self.grant {
            None => false,
            Some(g) if g.user_id.is_none() => true,
            Some(_) => self.subject.is_some_and(|s| !s.disabled),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// This call rotated the token; the successor is stored.
    Rotated,
    /// Somebody rotated it before (parallel refresh or replay).
    AlreadyRotated {
        rotated_at: UnixTime,
        successor_hash: String,
    },
    /// Token unknown or revoked.
    NotFound,
}

/// A person's consent to a client for a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub resource_id: String,
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A browser session on authgate's pages, stored by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: Option<String>,
    pub csrf_token: String,
    pub auth_time: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Arbitrary JSON the pages keep across requests (pending /authorize).
    pub data: serde_json::Value,
}

/// A record in the audit log. Never holds secrets or tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: UnixTime,
    pub event: String,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub resource_id: Option<String>,
    pub address: Option<String>,
    pub outcome: String,
    pub detail: serde_json::Value,
}

/// How a person signed in, carried from the browser session to the
/// authorization code, the grant and every token issued from it (claims
/// `amr`, `idp`, `org_id`). Kept in the session's data under `"auth"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthContext {
    /// RFC 8176 authentication method references, e.g. `["pwd"]`,
    /// `["pwd", "otp", "mfa"]`, `["hwk", "user", "mfa"]`, or what an
    /// upstream identity provider reported, in the order they were used.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The upstream connection's id when the person signed in through an
    /// identity provider (`None` for a local sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The organization the person signed in as a member of, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

impl AuthContext {
    /// A local password sign-in.
    pub fn password() -> Self {
        Self {
            amr: vec!["pwd".into()],
            ..Self::default()
        }
    }

    /// Whether more than one factor was used (`mfa` in `amr`).
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
}

/// A person's passkey (a WebAuthn discoverable credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    /// authgate's id for it (in URLs of the account page).
    pub id: String,
    pub user_id: String,
    /// The credential id, base64url; unique across people.
    pub credential_id: String,
    /// The name the person gave it.
    pub name: String,
    /// The credential as webauthn-rs keeps it (public key, counter,
    /// backup flags), serialized; only `authgate_authority::passkeys`
    /// reads it.
    pub credential: serde_json::Value,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// A person's TOTP authenticator (RFC 6238). At most one per person; it is
/// unconfirmed (`confirmed_at` unset, not a second factor yet) until the
/// person has typed a code from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpRecord {
    pub user_id: String,
    /// Random id of this enrolment: a confirmation names it, so a code from
    /// an enrolment that another tab has since replaced confirms nothing.
    pub id: String,
    /// The shared secret sealed with the key-encryption key.
    pub secret_sealed: Vec<u8>,
    pub created_at: UnixTime,
    pub confirmed_at: Option<UnixTime>,
    /// The newest time step whose code was accepted: no code of that step
    /// or an earlier one is accepted again (RFC 6238 §5.2).
    pub last_used_step: Option<i64>,
}

/// A mail waiting in the outbox (`OutboxStore`): composed when it was
/// queued, sent by the outbox worker, retried until it goes out or gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    /// What it is (`password_reset`, `email_verification`,
    /// `notice.password_changed`, ...), for logs and the audit trail.
    pub kind: String,
    /// The recipient's address (routing only; the message itself is in
    /// `payload`).
    pub recipient: String,
    /// The composed message, opaque to the store: sealed with the
    /// key-encryption key when `sealed` (it may hold a link's secret).
    pub payload: String,
    pub sealed: bool,
    /// Sending attempts made so far.
    pub attempts: i64,
    /// Not sent before this instant (backoff after a failure).
    pub next_attempt_at: UnixTime,
    /// A worker holds it until then; another may claim it after.
    pub lease_until: Option<UnixTime>,
    pub sent_at: Option<UnixTime>,
    /// Given up (too many failed attempts).
    pub failed_at: Option<UnixTime>,
    /// The last failure, for operators (never holds the message).
    pub last_error: Option<String>,
    pub created_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(
        grant: Option<Option<&str>>,
        subject: Option<AccountStanding>,
    ) -> RefreshTokenContext {
        RefreshTokenContext {
            token: RefreshToken {
                token_hash: "h".into(),
                grant_id: "g".into(),
                client_id: "c".into(),
                scopes: vec![],
                issued_at: 0,
                expires_at: 10,
                rotated_at: None,
                successor_hash: None,
                revoked_at: None,
            },
            grant: grant.map(|user_id| Grant {
                id: "g".into(),
                client_id: "c".into(),
                user_id: user_id.map(str::to_owned),
                resource_id: "r".into(),
                scopes: vec![],
                auth_time: 0,
                created_at: 0,
                last_used_at: 0,
                expires_at: 10,
                revoked_at: None,
                auth: AuthContext::default(),
            }),
            subject,
        }
    }

    #[test]
    fn a_refresh_context_is_active_for_a_client_grant_or_an_enabled_person() {
        let standing = |disabled| AccountStanding {
            disabled,
            email_verified: true,
            signed_up: false,
        };
        assert!(
            context(Some(None), None).subject_active(),
            "a client's own grant"
        );
        assert!(context(Some(Some("u")), Some(standing(false))).subject_active());
        assert!(!context(Some(Some("u")), Some(standing(true))).subject_active());
        assert!(
            !context(Some(Some("u")), None).subject_active(),
            "no such person"
        );
        assert!(!context(None, None).subject_active(), "the grant is gone");
    }
}
