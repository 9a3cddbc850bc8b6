//! Upstream OpenID Connect (and GitHub's OAuth 2) sign-in, no HTTP server
//! in it: discovery, the authorization URL (code, PKCE S256, `state`,
//! `nonce`), the code exchange, ID-token validation and the mapping to an
//! [`UpstreamIdentity`](crate::federation::identity::UpstreamIdentity).
//! Every upstream call goes through the one outbound fetcher (SSRF policy,
//! size and time bounds).

mod config;
mod discovery;
mod flow;
mod github;
pub mod id_token;
mod jwks;
mod single_flight;

pub use config::{
    AUTH_METHODS, CLIENT_KEY_ALGS, ConnectionSecrets, OidcSettings, PRIVATE_KEY_JWT, PrivateKey,
    client_jwks, open_secrets, seal_secrets,
};
pub use discovery::{ProviderMetadata, tenant_template};
pub use flow::{Callback, FLOW_TTL, PendingFlow, Started, begin, finish};

use crate::outbound::{AddressPolicy, FetchError, FetchLimits, Fetcher};
use authgate_store::StoreError;
use std::time::Duration;

/// The `kind` label of upstream identity-provider fetches.
pub const KIND_FEDERATION: &str = "federation";

/// The process-wide state of upstream sign-in: its fetcher and the caches
/// of discovery documents and key sets.
pub struct FederationServices {
    pub fetcher: Fetcher,
    pub(crate) discovery: discovery::DiscoveryCache,
    pub(crate) jwks: jwks::JwksCache,
}

impl FederationServices {
    /// `policy`: loopback upstreams only where the issuer itself is
    /// loopback (development and tests).
    pub fn new(policy: AddressPolicy) -> Result<Self, String> {
        let limits = FetchLimits {
            max_bytes: 256 * 1024,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_concurrent: 32,
            per_host: 8,
            negative_cache: Duration::ZERO,
        };
        Ok(Self {
            fetcher: Fetcher::new(policy, limits, "authgate")?.counted_as(KIND_FEDERATION),
            discovery: discovery::DiscoveryCache::default(),
            jwks: jwks::JwksCache::default(),
        })
    }

    /// Whether `s` is a URL upstream calls may go to: https, or plain http
    /// to a loopback host where the policy allows loopback.
    pub fn url_ok(&self, s: &str) -> Result<url::Url, UpstreamError> {
        let u = url::Url::parse(s)
            .map_err(|_| UpstreamError::Misconfigured(format!("{s:?} is not a URL")))?;
        let ok = match u.scheme() {
            "https" => u.host_str().is_some(),
            "http" => u
                .host_str()
                .is_some_and(|h| self.fetcher.policy().allows_plain_http_to(h)),
            _ => false,
        };
        if !ok || u.fragment().is_some() {
            return Err(UpstreamError::Misconfigured(format!(
                "{s:?} must be an https URL without a fragment"
            )));
        }
        Ok(u)
    }
}

/// Why an upstream sign-in failed. Each is a page a person understands
/// and an audit reason; none carries an upstream token.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The connection's settings or secret are unusable.
    #[error("the connection is misconfigured: {0}")]
    Misconfigured(String),
    /// The discovery document is missing, invalid, or names another issuer.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// The upstream could not be reached, or did not answer in time.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(FetchError),
    /// The person (or the upstream) declined: `error=access_denied`.
    #[error("the sign-in was declined at the identity provider")]
    Denied,
    /// Another `error` from the upstream's authorization response.
    #[error("the identity provider answered with error {0:?}")]
    Upstream(String),
    /// No sign-in was started in this browser with this `state`, it
    /// expired, or it was used already.
    #[error("the state is unknown, expired or already used")]
    BadState,
    /// RFC 9207: the response's `iss` is missing or names another issuer
    /// (mix-up defence).
    #[error("the response's iss does not name this connection's issuer")]
    IssMismatch,
    /// The response had neither a code nor an error.
    #[error("the response has no code")]
    NoCode,
    /// The token endpoint refused the code (its `error` code only).
    #[error("the token endpoint refused the code: {0}")]
    TokenEndpoint(String),
    /// The ID token failed validation.
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
    /// The ID token's nonce was seen before (a replayed token).
    #[error("the ID token's nonce was already used")]
    NonceReplayed,
    /// The userinfo (or GitHub user) answer was unusable.
    #[error("the user information is not usable: {0}")]
    UserInfo(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl UpstreamError {
    /// The audit outcome word.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Misconfigured(_) => "misconfigured",
            Self::Discovery(_) => "discovery_failed",
            Self::Unreachable(FetchError::Timeout(_)) => "upstream_timeout",
            Self::Unreachable(_) => "upstream_unreachable",
            Self::Denied => "access_denied",
            Self::Upstream(_) => "upstream_error",
            Self::BadState => "bad_state",
            Self::IssMismatch => "iss_mismatch",
            Self::NoCode => "no_code",
            Self::TokenEndpoint(_) => "token_refused",
            Self::IdToken(_) => "bad_id_token",
            Self::NonceReplayed => "nonce_replayed",
            Self::UserInfo(_) => "userinfo_failed",
            Self::Store(_) => "store_error",
        }
    }
}

/// Reads a JSON answer of an upstream call: 200, within bounds, JSON.
pub(crate) fn json_answer(
    a: &crate::outbound::Answer,
    what: &str,
) -> Result<serde_json::Value, String> {
    if a.truncated {
        return Err(format!("the {what} answer is too large"));
    }
    if a.status != 200 {
        return Err(format!("the {what} answered HTTP {}", a.status));
    }
    serde_json::from_slice(&a.body).map_err(|_| format!("the {what} answer is not JSON"))
}

#[cfg(test)]
mod tests;
