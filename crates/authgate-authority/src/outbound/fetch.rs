//! The one outbound HTTP client: every URL authgate fetches (client
//! metadata documents, client JWKS, the admin connection check) goes
//! through a [`Fetcher`], so one address policy (SSRF, see
//! [`super::policy`]), one set of limits and one cache of failures apply.
//!
//! - The address check sits in the DNS resolver handed to reqwest, so the
//!   addresses the connector dials are exactly the ones that passed the
//!   check (no check-then-resolve-again gap for DNS rebinding to slip
//!   through); every resolved address is checked. IP literals never reach a
//!   resolver, so they are checked before the request.
//! - Redirects are never followed; proxies from the environment are
//!   ignored (a proxy would make the checked address irrelevant).
//! - Bodies and time are capped.
//! - At most `max_concurrent` fetches run at once, and at most `per_host`
//!   to one host (host and port): a host that stalls can take only its own
//!   slots, so lookups on other hosts are not starved.
//! - [`Fetcher::get_json`] (documents, JWKS) remembers a failure for
//!   `negative_cache` and answers the same error meanwhile, so a failing
//!   `jwks_uri` or document is not fetched again on every request.

use super::negative_cache::NegativeCache;
use super::policy::AddressPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// A successful `get_json`.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// Freshness lifetime from `Cache-Control` (`max-age`), when given.
    pub max_age: Option<u64>,
    /// `no-store` / `no-cache` was given.
    pub no_cache: bool,
}

/// Any answer to [`Fetcher::request`].
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// At most `max_bytes`; `truncated` when there was more.
    pub body: Vec<u8>,
    pub truncated: bool,
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
    /// Whole fetch, waiting for a slot and the body included.
    pub timeout: Duration,
    /// Fetches at once, all hosts.
    pub max_concurrent: usize,
    /// Fetches at once to one host (host and port).
    pub per_host: usize,
    /// How long a failed `get_json` is answered from memory (zero: never).
    pub negative_cache: Duration,
}

impl FetchLimits {
    /// The limits of the admin connection check: 64 KiB, 5 s, no cache of
    /// failures (an operator re-runs the check after fixing the server).
    pub fn connection_check() -> Self {
        Self {
            max_bytes: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            max_concurrent: 16,
            per_host: 4,
            negative_cache: Duration::ZERO,
        }
    }
}

pub struct Fetcher {
    http: reqwest::Client,
    policy: AddressPolicy,
    limits: FetchLimits,
    slots: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    failures: NegativeCache<FetchError>,
    /// The `kind` label of `authgate_outbound_fetches_total`.
    kind: &'static str,
}

/// `authgate_outbound_fetches_total{kind,outcome}`.
pub const OUTBOUND_FETCHES: &str = "authgate_outbound_fetches_total";
/// The `kind` label of a document fetcher: client ID metadata documents
/// and client `jwks_uri` key sets.
pub const KIND_CLIENT_METADATA: &str = "client_metadata";
/// The `kind` label of the admin connection check.
pub const KIND_CONNECTION_CHECK: &str = "connection_check";
/// Every `outcome` label: an answer (any status), refused by the address
/// policy or scheme before sending, timed out, failed to connect, or a
/// recent failure answered from memory.
pub const FETCH_OUTCOMES: &[&str] = &[
    "answered",
    "refused",
    "timeout",
    "failed",
    "negative_cached",
];

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Holds a host's slot; forgets the host's semaphore when nobody else
/// uses it, so the map holds only hosts being fetched from.
struct HostSlot<'a> {
    fetcher: &'a Fetcher,
    key: String,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for HostSlot<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Ok(mut hosts) = self.fetcher.hosts.lock()
            && hosts
                .get(&self.key)
                .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            hosts.remove(&self.key);
        }
    }
}

impl Fetcher {
    /// `user_agent` names the caller (e.g. `authgate`).
    pub fn new(
        policy: AddressPolicy,
        limits: FetchLimits,
        user_agent: &str,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .user_agent(format!("{user_agent}/{}", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            policy,
            limits,
            slots: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            hosts: Mutex::new(HashMap::new()),
            failures: NegativeCache::new(limits.negative_cache),
            kind: KIND_CLIENT_METADATA,
        })
    }

    /// The same fetcher counted under another `kind` label.
    pub fn counted_as(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn limits(&self) -> FetchLimits {
        self.limits
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Whether plain http is acceptable for a document URL: only where the
    /// policy allows loopback, and only to a loopback host.
    fn document_scheme_ok(&self, url: &url::Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => url
                .host_str()
                .is_some_and(|h| self.policy.allows_plain_http_to(h)),
            _ => false,
        }
    }

    /// The host's slot, then a global one; waiting counts against the
    /// caller's time limit.
    async fn slots_for(
        &self,
        url: &url::Url,
    ) -> Result<(HostSlot<'_>, OwnedSemaphorePermit), FetchError> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default().to_ascii_lowercase(),
            url.port_or_known_default().unwrap_or(0)
        );
        let host_sem = {
            let mut hosts = self.hosts.lock().map_err(|_| FetchError::Connect)?;
            hosts
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host.max(1))))
                .clone()
        };
        let mut host = HostSlot {
            fetcher: self,
            key,
            permit: None,
        };
        host.permit = Some(
            host_sem
                .acquire_owned()
                .await
                .map_err(|_| FetchError::Connect)?,
        );
        let global = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| FetchError::Connect)?;
        Ok((host, global))
    }

    /// Sends `req` (built from [`Fetcher::client`]) to `url` under the
    /// address policy and the limits; any status is an answer.
    pub async fn request(
        &self,
        url: &url::Url,
        req: reqwest::RequestBuilder,
    ) -> Result<Answer, FetchError> {
        let r = self.request_uncounted(url, req).await;
        let outcome = match &r {
            Ok(_) => "answered",
            Err(FetchError::Scheme | FetchError::NoHost | FetchError::SpecialUseAddress) => {
                "refused"
            }
            Err(FetchError::Timeout(_)) => "timeout",
            Err(_) => "failed",
        };
        metrics::counter!(OUTBOUND_FETCHES, "kind" => self.kind, "outcome" => outcome).increment(1);
        r
    }

    async fn request_uncounted(
        &self,
        url: &url::Url,
        req: reqwest::RequestBuilder,
    ) -> Result<Answer, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
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
            let _slots = self.slots_for(url).await?;
            self.send(req).await
        };
        match tokio::time::timeout(total, work).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(total.as_millis())),
        }
    }

    /// The underlying client, to build a request for [`Fetcher::request`].
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer, FetchError> {
        let mut resp = req.send().await.map_err(|e| self.classify(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let max = self.limits.max_bytes;
        let mut body = Vec::new();
        let mut truncated = resp.content_length().is_some_and(|l| l > max as u64);
        while !truncated {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(&e)),
            }
        }
        Ok(Answer {
            status,
            headers,
            body,
            truncated,
        })
    }

    /// GETs a document URL a client gave (https; plain http only to a
    /// loopback host where the policy allows loopback) and returns the
    /// body of a 200 JSON answer. A failure is remembered for the
    /// negative-cache time and answered again without a fetch.
    pub async fn get_json(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        if let Some(e) = self.failures.get(url.as_str()) {
            metrics::counter!(OUTBOUND_FETCHES, "kind" => self.kind, "outcome" => "negative_cached")
                .increment(1);
            return Err(e);
        }
        let r = self.get_json_uncached(url).await;
        match &r {
            Ok(_) => self.failures.forget(url.as_str()),
            Err(e) => self.failures.put(url.as_str(), e.clone()),
        }
        r
    }

    async fn get_json_uncached(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        if !self.document_scheme_ok(url) {
            return Err(FetchError::Scheme);
        }
        let req = self
            .http
            .get(url.as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        let a = self.request(url, req).await?;
        if (300..400).contains(&a.status) {
            return Err(FetchError::Redirect(a.status));
        }
        if a.status != 200 {
            return Err(FetchError::Status(a.status));
        }
        let ct = a
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json_media_type(ct) {
            return Err(FetchError::NotJson);
        }
        if a.truncated {
            return Err(FetchError::TooLarge(self.limits.max_bytes));
        }
        let (max_age, no_cache) = cache_control(
            a.headers
                .get_all(reqwest::header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        Ok(Fetched {
            body: a.body,
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(per_host: usize, max_concurrent: usize, negative: Duration) -> FetchLimits {
        FetchLimits {
            max_bytes: 64 * 1024,
            connect_timeout: Duration::from_millis(500),
            timeout: Duration::from_millis(1500),
            max_concurrent,
            per_host,
            negative_cache: negative,
        }
    }

    fn loopback() -> AddressPolicy {
        AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        }
    }

    /// A host that accepts connections and never answers.
    async fn stalling_host() -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        addr
    }

    /// A host answering every request with `status` and a JSON body;
    /// counts requests.
    async fn answering_host(status: u16) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let h = h.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let body = "{}";
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        (addr, hits)
    }

    #[tokio::test]
    async fn a_stalling_host_does_not_starve_lookups_on_other_hosts() {
        let f = Arc::new(Fetcher::new(loopback(), limits(2, 4, Duration::ZERO), "test").unwrap());
        let stall = stalling_host().await;
        let (good, _) = answering_host(200).await;
        // Far more stalled fetches than global slots, all on one host.
        let mut stalled = Vec::new();
        for i in 0..20 {
            let f = f.clone();
            let u = url::Url::parse(&format!("http://{stall}/doc{i}.json")).unwrap();
            stalled.push(tokio::spawn(async move { f.get_json(&u).await }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let u = url::Url::parse(&format!("http://{good}/ok.json")).unwrap();
        for _ in 0..5 {
            let started = std::time::Instant::now();
            f.get_json(&u).await.expect("the good host answers");
            assert!(
                started.elapsed() < Duration::from_millis(500),
                "a good lookup waited {:?} behind a stalling host",
                started.elapsed()
            );
        }
        for t in stalled {
            assert!(matches!(t.await.unwrap(), Err(FetchError::Timeout(_))));
        }
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_repeated_within_the_negative_cache_time() {
        let f = Fetcher::new(loopback(), limits(2, 4, Duration::from_millis(400)), "test").unwrap();
        let (bad, hits) = answering_host(500).await;
        let u = url::Url::parse(&format!("http://{bad}/jwks.json")).unwrap();
        for _ in 0..5 {
            assert_eq!(f.get_json(&u).await.unwrap_err(), FetchError::Status(500));
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "fetched again within the TTL"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(f.get_json(&u).await.unwrap_err(), FetchError::Status(500));
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "not fetched again after the TTL"
        );
    }

    #[tokio::test]
    async fn the_address_policy_applies_to_literals_and_resolved_names() {
        let strict = Fetcher::new(
            AddressPolicy::default(),
            limits(2, 4, Duration::ZERO),
            "test",
        )
        .unwrap();
        let (addr, hits) = answering_host(200).await;
        for u in [
            format!("http://{addr}/x.json"),
            format!("https://{addr}/x.json"),
            format!("https://localhost:{}/x.json", addr.port()),
            "https://169.254.169.254/latest/meta-data".to_string(),
            "https://[::ffff:10.0.0.1]/x.json".to_string(),
        ] {
            let u = url::Url::parse(&u).unwrap();
            let e = strict.get_json(&u).await.unwrap_err();
            assert!(
                matches!(e, FetchError::SpecialUseAddress | FetchError::Scheme),
                "{u}: {e:?}"
            );
        }
        // The admin check's request path: any scheme but the same policy.
        let u = url::Url::parse(&format!("http://{addr}/mcp")).unwrap();
        let req = strict.client().get(u.as_str());
        assert_eq!(
            strict.request(&u, req).await.unwrap_err(),
            FetchError::SpecialUseAddress
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

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
