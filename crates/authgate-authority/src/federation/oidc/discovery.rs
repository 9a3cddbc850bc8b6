//! The upstream's discovery document (OpenID Connect Discovery 1.0),
//! fetched through the outbound fetcher and cached. Its `issuer` must equal
//! the configured issuer exactly (for Microsoft's multi-tenant issuers, the
//! per-tenant template), so a document served elsewhere cannot redirect the
//! sign-in to another provider.
//!
//! One fetch per issuer at a time ([`Flights`]), and a failure is
//! remembered for [`FAILURE_TTL`]: a provider that is down or misconfigured
//! is not asked again by every sign-in that starts meanwhile (each of which
//! would otherwise wait out the fetch timeout).

use super::single_flight::Flights;
use super::{FederationServices, UpstreamError};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a discovery document is used before it is fetched again.
const TTL: Duration = Duration::from_secs(3600);
/// How long a failed fetch answers for the issuer.
pub(crate) const FAILURE_TTL: Duration = Duration::from_secs(10);
/// Most documents kept (one per configured issuer; a bound all the same).
const MAX_ENTRIES: usize = 256;

#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// A document, or why the last fetch failed (only the two failures that
/// say something about the provider, not about us).
enum Cached {
    Document(Arc<ProviderMetadata>),
    Failed(Failure),
}

enum Failure {
    Discovery(String),
    Unreachable(crate::outbound::FetchError),
}

impl Failure {
    fn error(&self) -> UpstreamError {
        match self {
            Self::Discovery(m) => UpstreamError::Discovery(m.clone()),
            Self::Unreachable(f) => UpstreamError::Unreachable(f.clone()),
        }
    }
}

#[derive(Default)]
pub(crate) struct DiscoveryCache {
    entries: Mutex<HashMap<String, (Cached, Instant)>>,
    fetching: Flights,
}

impl DiscoveryCache {
    fn get(&self, issuer: &str) -> Option<Result<Arc<ProviderMetadata>, UpstreamError>> {
        let m = self.entries.lock().ok()?;
        match m.get(issuer)? {
            (Cached::Document(md), at) if at.elapsed() < TTL => Some(Ok(md.clone())),
            (Cached::Failed(f), at) if at.elapsed() < FAILURE_TTL => Some(Err(f.error())),
            _ => None,
        }
    }

    fn put(&self, issuer: &str, result: &Result<Arc<ProviderMetadata>, UpstreamError>) {
        let entry = match result {
            Ok(md) => Cached::Document(md.clone()),
            Err(UpstreamError::Discovery(m)) => Cached::Failed(Failure::Discovery(m.clone())),
            Err(UpstreamError::Unreachable(f)) => Cached::Failed(Failure::Unreachable(f.clone())),
            Err(_) => return,
        };
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(issuer.to_owned(), (entry, Instant::now()));
        }
    }
}

/// Microsoft's multi-tenant issuers (`…/common/v2.0`, `…/organizations/v2.0`,
/// `…/consumers/v2.0`) publish `…/{tenantid}/v2.0` as their issuer.
pub fn tenant_template(issuer: &str) -> String {
    for seg in ["/common/", "/organizations/", "/consumers/"] {
        if let Some(i) = issuer.find(seg) {
            return format!("{}/{{tenantid}}/{}", &issuer[..i], &issuer[i + seg.len()..]);
        }
    }
    issuer.to_owned()
}

/// The issuer a discovery document must name.
fn expected_issuer(issuer: &str, tenant: bool) -> String {
    if tenant {
        tenant_template(issuer)
    } else {
        issuer.to_owned()
    }
}

impl FederationServices {
    /// The discovery document of `issuer`, from the cache when fresh.
    pub async fn discover(
        &self,
        issuer: &str,
        tenant: bool,
    ) -> Result<Arc<ProviderMetadata>, UpstreamError> {
        if let Some(answer) = self.discovery.get(issuer) {
            return answer;
        }
        let _turn = self.discovery.fetching.turn(issuer).await;
        if let Some(answer) = self.discovery.get(issuer) {
            return answer;
        }
        let result = self.fetch_discovery(issuer, tenant).await;
        self.discovery.put(issuer, &result);
        result
    }

    async fn fetch_discovery(
        &self,
        issuer: &str,
        tenant: bool,
    ) -> Result<Arc<ProviderMetadata>, UpstreamError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let url = self.url_ok(&url)?;
        let fetched = self.fetcher.get_json(&url).await.map_err(|e| match e {
            crate::outbound::FetchError::Status(_)
            | crate::outbound::FetchError::NotJson
            | crate::outbound::FetchError::Redirect(_)
            | crate::outbound::FetchError::TooLarge(_) => {
                UpstreamError::Discovery(format!("{url}: {e}"))
            }
            e => UpstreamError::Unreachable(e),
        })?;
        let md: ProviderMetadata = serde_json::from_slice(&fetched.body)
            .map_err(|e| UpstreamError::Discovery(format!("the document does not read: {e}")))?;
        if md.issuer != expected_issuer(issuer, tenant) {
            return Err(UpstreamError::Discovery(format!(
                "the document names issuer {:?}, not {:?}",
                md.issuer,
                expected_issuer(issuer, tenant)
            )));
        }
        for u in [&md.authorization_endpoint, &md.token_endpoint, &md.jwks_uri] {
            self.url_ok(u)
                .map_err(|_| UpstreamError::Discovery(format!("endpoint {u:?} is not https")))?;
        }
        if let Some(u) = &md.userinfo_endpoint {
            self.url_ok(u)
                .map_err(|_| UpstreamError::Discovery(format!("endpoint {u:?} is not https")))?;
        }
        Ok(Arc::new(md))
    }
}
