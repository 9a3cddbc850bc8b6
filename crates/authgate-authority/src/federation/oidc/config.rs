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
    /// `client_secret_basic` (default), `client_secret_post`, or
    /// `private_key_jwt` (RFC 7523: a JWT signed with this connection's own
    /// key, whose public half is at `/federation/{id}/jwks.json`).
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

pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT];

pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";

impl OidcSettings {
    /// Whether the token request is authenticated with a signed JWT.
    pub fn uses_private_key(&self) -> bool {
        self.token_endpoint_auth_method == PRIVATE_KEY_JWT
    }

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

/// The secrets of a connection, sealed as one JSON document. `Debug`
/// says which are present, never their values.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ConnectionSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The connection's own key for `private_key_jwt`, made by authgate
    /// (never uploaded): one key per connection, so an assertion made for
    /// one upstream is worth nothing at another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PrivateKey>,
}

impl std::fmt::Debug for ConnectionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSecrets")
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("private_key", &self.private_key)
            .finish()
    }
}

/// A private key as stored (inside the sealed secrets). `Debug` shows the
/// key id and algorithm only.
#[derive(Clone, Serialize, Deserialize)]
pub struct PrivateKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// PKCS#8 DER, base64.
    pub pkcs8: String,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The algorithms a connection's client-assertion key can use: RS256 is
/// the one every provider takes (Auth0 takes no ES256), ES256 is smaller.
pub const CLIENT_KEY_ALGS: [&str; 2] = ["RS256", "ES256"];

fn signing_alg(alg: &str) -> Option<authgate_core::model::SigningAlg> {
    match alg {
        "RS256" => Some(authgate_core::model::SigningAlg::RS256),
        "ES256" => Some(authgate_core::model::SigningAlg::ES256),
        _ => None,
    }
}

impl PrivateKey {
    /// A new key for `alg` (one of [`CLIENT_KEY_ALGS`]).
    pub fn generate(alg: &str, rng: &dyn authgate_core::random::Random) -> Result<Self, String> {
        use base64::Engine as _;
        let a = signing_alg(alg).ok_or_else(|| format!("use one of {CLIENT_KEY_ALGS:?}"))?;
        let g = authgate_core::signing::SigningKey::generate(a, rng)
            .map_err(|e| format!("the key could not be made: {e}"))?;
        Ok(Self {
            kid: g.key.kid().to_owned(),
            alg: alg.to_owned(),
            pkcs8: base64::engine::general_purpose::STANDARD.encode(&g.pkcs8),
        })
    }

    /// The parsed key (signs, and gives its public JWK).
    pub fn signing_key(&self) -> Result<authgate_core::signing::SigningKey, String> {
        use base64::Engine as _;
        let a = signing_alg(&self.alg).ok_or("the stored key has an unknown algorithm")?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(&self.pkcs8)
            .map_err(|_| "the stored key is corrupt")?;
        authgate_core::signing::SigningKey::from_pkcs8(self.kid.clone(), a, &der)
            .map_err(|_| "the stored key does not parse".to_string())
    }
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

/// The public key set connection `id` publishes for `private_key_jwt`
/// (`/federation/{id}/jwks.json`), or `None` when it has none (unknown id,
/// another method). Only the public half leaves the sealed secrets.
pub async fn client_jwks(
    auth: &Authority,
    id: &str,
) -> Result<Option<serde_json::Value>, authgate_store::StoreError> {
    let Some(c) = auth.store.get_connection(id).await? else {
        return Ok(None);
    };
    if !OidcSettings::of(&c).is_ok_and(|s| s.uses_private_key()) {
        return Ok(None);
    }
    let key = open_secrets(auth, &c)
        .ok()
        .and_then(|s| s.private_key)
        .and_then(|k| k.signing_key().ok());
    Ok(key.map(|k| {
        let mut jwk = k.public_jwk().clone();
        jwk["use"] = "sig".into();
        serde_json::json!({ "keys": [jwk] })
    }))
}
