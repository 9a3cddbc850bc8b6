//! The one way authgate fetches a URL a client gave it (client metadata
//! documents, client JWKS): SSRF-guarded, no redirects, only a 200 JSON
//! answer, size- and time-capped.
//!
//! The guard sits in the DNS resolver handed to reqwest, so the addresses
//! the connector dials are exactly the ones that passed the check (no
//! check-then-resolve-again gap for DNS rebinding to slip through). IP
//! literals never reach a resolver, so they are checked before the request.
//! Proxies from the environment are ignored: a proxy would make the checked
//! address irrelevant.

use super::ip::AddressPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// At most this many outbound fetches run at once; later ones wait (within
/// their own time limit).
const MAX_CONCURRENT_FETCHES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL must use https")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error(
        "its host resolves to a special-use address (loopback, private, link-local or similar), which this server does not fetch from"
    )]
    SpecialUseAddress,
    #[error("its host name could not be resolved")]
    Dns,
    #[error("it answered with a redirect (HTTP {0}); redirects are not followed")]
    Redirect(u16),
    #[error("it answered HTTP {0}, not 200")]
    Status(u16),
    #[error("it is not JSON (Content-Type must be application/json)")]
    NotJson,
    #[error("it is larger than {0} bytes")]
    TooLarge(usize),
    #[error("it did not arrive within {0} ms")]
    Timeout(u128),
    #[error("the server could not be reached")]
    Connect,
}

/// A successful fetch.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// Freshness lifetime from `Cache-Control` (`max-age`), when given.
    pub max_age: Option<u64>,
    /// `no-store` / `no-cache` was given.
    pub no_cache: bool,
}

/// The error type the resolver returns when every address is refused, so
/// the caller can tell an SSRF refusal from an ordinary DNS failure.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("every address of the host is special-use")
    }
}

impl std::error::Error for Refused {}

/// Resolves with the system resolver, then keeps only permitted addresses.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    pub max_bytes: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

pub struct GuardedFetcher {
    http: reqwest::Client,
    policy: AddressPolicy,
    limits: FetchLimits,
    slots: Semaphore,
}

impl std::fmt::Debug for GuardedFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedFetcher")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl GuardedFetcher {
    pub fn new(policy: AddressPolicy, limits: FetchLimits) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .user_agent(concat!("authgate/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            policy,
            limits,
            slots: Semaphore::new(MAX_CONCURRENT_FETCHES),
        })
    }

    pub fn limits(&self) -> FetchLimits {
        self.limits
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Whether plain http is acceptable for this URL: only with the test
    /// switch on, and only to a loopback host.
    fn scheme_ok(&self, url: &url::Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => {
                self.policy.allow_loopback
                    && url
                        .host_str()
                        .is_some_and(authgate_core::resource_uri::is_loopback_host)
            }
            _ => false,
        }
    }

    /// GETs `url` and returns the body of a 200 JSON answer.
    pub async fn get_json(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        if !self.scheme_ok(url) {
            return Err(FetchError::Scheme);
        }
        let ip = match url.host() {
            None => return Err(FetchError::NoHost),
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = ip
            && !self.policy.permits(ip)
        {
            return Err(FetchError::SpecialUseAddress);
        }
        let total = self.limits.timeout;
        let work = async {
            let _slot = self
                .slots
                .acquire()
                .await
                .map_err(|_| FetchError::Connect)?;
            self.fetch(url).await
        };
        match tokio::time::timeout(total, work).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(total.as_millis())),
        }
    }

    async fn fetch(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        let resp = self
            .http
            .get(url.as_str())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.classify(&e))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(FetchError::Redirect(status));
        }
        if status != 200 {
            return Err(FetchError::Status(status));
        }
        let headers = resp.headers();
        let ct = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json_media_type(ct) {
            return Err(FetchError::NotJson);
        }
        let (max_age, no_cache) = cache_control(
            headers
                .get_all(reqwest::header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let max = self.limits.max_bytes;
        if resp.content_length().is_some_and(|l| l > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut resp = resp;
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        return Err(FetchError::TooLarge(max));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(&e)),
            }
        }
        Ok(Fetched {
            body,
            max_age,
            no_cache,
        })
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = src {
            if s.is::<Refused>() {
                return FetchError::SpecialUseAddress;
            }
            src = s.source();
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.limits.timeout.as_millis());
        }
        if e.is_redirect() {
            return FetchError::Redirect(302);
        }
        let text = format!("{e:?}");
        if text.contains("dns error") || text.contains("failed to lookup") {
            return FetchError::Dns;
        }
        FetchError::Connect
    }
}

/// `application/json` or a structured-syntax `application/…+json` type.
pub fn is_json_media_type(ct: &str) -> bool {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json"
        || (mime.starts_with("application/") && mime.ends_with("+json") && !mime.contains(' '))
}

/// `max-age` and whether `no-store`/`no-cache` was given.
fn cache_control<'a>(values: impl Iterator<Item = &'a str>) -> (Option<u64>, bool) {
    let mut max_age = None;
    let mut no_cache = false;
    for v in values {
        for d in v.split(',') {
            let d = d.trim();
            let (name, arg) = match d.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (d, None),
            };
            if name.eq_ignore_ascii_case("max-age") {
                if let Some(n) = arg.and_then(|a| a.parse::<u64>().ok()) {
                    max_age = Some(max_age.map_or(n, |m: u64| m.min(n)));
                }
            } else if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache")
            {
                no_cache = true;
            }
        }
    }
    (max_age, no_cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/json; charset=utf-8"));
        assert!(is_json_media_type("Application/JSON"));
        assert!(is_json_media_type("application/jwk-set+json"));
        assert!(!is_json_media_type("text/html"));
        assert!(!is_json_media_type("text/json"));
        assert!(!is_json_media_type(""));
    }

    #[test]
    fn cache_control_directives() {
        assert_eq!(
            cache_control(["max-age=600"].into_iter()),
            (Some(600), false)
        );
        assert_eq!(
            cache_control(["public, max-age=\"60\", must-revalidate"].into_iter()),
            (Some(60), false)
        );
        assert_eq!(cache_control(["no-store"].into_iter()), (None, true));
        assert_eq!(cache_control(["max-age=abc"].into_iter()), (None, false));
        assert_eq!(cache_control(std::iter::empty()), (None, false));
    }
}
