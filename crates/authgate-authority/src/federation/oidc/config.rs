//! What an operator configures for an OpenID Connect or GitHub connection:
//! the non-secret settings in `Connection.config` (JSON) and the secrets,
//! sealed with the key-encryption key into `Connection.secret_sealed`.

use crate::Authority;
use authgate_core::connection::Connection;
use serde::{Deserialize, Serialize};

/// `Connection.config` of an `oidc` or `github` connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The upstream issuer (OIDC): discovery is fetched from
    /// `{issuer}/.well-known/openid-configuration`, and its `issuer` must
    /// equal this exactly. Empty for GitHub.
    #[serde(default)]
    pub issuer: String,
    pub client_id: String,
    /// Scopes asked for (`openid` is added for OIDC when missing).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// Microsoft's multi-tenant issuers: ID tokens carry the per-tenant
    /// issuer `…/{tenantid}/v2.0`; accepted exactly with the token's own
    /// `tid` put in the template.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tenant_issuer: bool,
    /// GitHub only: the OAuth 2 endpoints and the API base (overridable
    /// for GitHub Enterprise Server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
}

fn default_auth_method() -> String {
    "client_secret_basic".into()
}

pub const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

impl OidcSettings {
    pub fn of(c: &Connection) -> Result<Self, String> {
        let s: Self = serde_json::from_value(c.config.clone())
            .map_err(|e| format!("the connection's settings do not read: {e}"))?;
        if s.client_id.trim().is_empty() {
            return Err("the connection has no client id".into());
        }
        if !AUTH_METHODS.contains(&s.token_endpoint_auth_method.as_str()) {
            return Err(format!(
                "token_endpoint_auth_method must be one of {AUTH_METHODS:?}"
            ));
        }
        Ok(s)
    }

    /// The scopes to ask for, space-separated; OIDC always has `openid`.
    pub fn scope_param(&self, oidc: bool) -> String {
        let mut v: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        if v.is_empty() {
            v = if oidc {
                vec!["openid", "email", "profile"]
            } else {
                vec!["read:user", "user:email"]
            };
        }
        if oidc && !v.contains(&"openid") {
            v.insert(0, "openid");
        }
        v.join(" ")
    }
}

/// The secrets of a connection, sealed as one JSON document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConnectionSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// The AEAD context of a connection's sealed secrets: a sealed blob moved
/// to another connection does not open.
fn seal_context(connection_id: &str) -> Vec<u8> {
    format!("authgate connection secrets v1:{connection_id}").into_bytes()
}

pub fn seal_secrets(
    auth: &Authority,
    connection_id: &str,
    s: &ConnectionSecrets,
) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(s).map_err(|e| e.to_string())?;
    auth.kek
        .seal(auth.rng.as_ref(), &json, &seal_context(connection_id))
        .map_err(|_| "the connection's secret could not be sealed".to_string())
}

pub fn open_secrets(auth: &Authority, c: &Connection) -> Result<ConnectionSecrets, String> {
    let Some(sealed) = &c.secret_sealed else {
        return Ok(ConnectionSecrets::default());
    };
    let plain = auth.kek.open(sealed, &seal_context(&c.id)).map_err(|_| {
        "the connection's secret cannot be opened with the configured key-encryption key"
            .to_string()
    })?;
    serde_json::from_slice(&plain).map_err(|_| "the connection's sealed secret is corrupt".into())
}
