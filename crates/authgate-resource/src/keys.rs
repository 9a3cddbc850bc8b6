//! The JWKS cache: keys parsed once, refetched on an unknown `kid` at most
//! once per interval and by one task at a time, kept when the
//! authorization server is down.

use crate::fetch::{self, Endpoints, FetchError};
use crate::jwk::{Algorithm, KeySet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

pub(crate) struct KeyStore {
    issuer: String,
    /// Set from the builder (skips discovery) or by discovery.
    endpoints: OnceLock<Endpoints>,
    http: reqwest::Client,
    algorithms: Vec<Algorithm>,
    current: RwLock<Arc<KeySet>>,
    /// Single flight: one fetch at a time.
    refresh_lock: tokio::sync::Mutex<()>,
    /// When the last attempt (successful or not) started.
    last_attempt: Mutex<Option<Instant>>,
    min_interval: Duration,
    /// Unix seconds of the last successful JWKS fetch; 0 before the first.
    fetched_at: AtomicI64,
    max_age: i64,
    background: AtomicBool,
    /// JWKS requests sent, for metrics and tests.
    fetches: AtomicU64,
}

impl KeyStore {
    pub fn new(
        issuer: String,
        jwks_uri: Option<String>,
        http: reqwest::Client,
        algorithms: Vec<Algorithm>,
        min_interval: Duration,
        max_age: Duration,
    ) -> Self {
        let endpoints = OnceLock::new();
        if let Some(jwks_uri) = jwks_uri {
            let _ = endpoints.set(Endpoints {
                issuer: issuer.clone(),
                jwks_uri: Some(jwks_uri),
                introspection_endpoint: None,
            });
        }
        Self {
            issuer,
            endpoints,
            http,
            algorithms,
            current: RwLock::new(Arc::new(KeySet::default())),
            refresh_lock: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(None),
            min_interval,
            fetched_at: AtomicI64::new(0),
            max_age: i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
            background: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The key set in force.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether a key set was ever fetched.
    pub fn ever_fetched(&self) -> bool {
        self.fetched_at.load(Ordering::Relaxed) != 0
    }

    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Whether the interval since the last attempt has passed. Until a key
    /// set was fetched once, retries come every second at most (so an
    /// authorization server started after the resource is noticed soon).
    fn may_attempt(&self) -> bool {
        let interval = if self.ever_fetched() {
            self.min_interval
        } else {
            self.min_interval.min(Duration::from_secs(1))
        };
        let g = self.last_attempt.lock().unwrap_or_else(|p| p.into_inner());
        g.is_none_or(|t| t.elapsed() >= interval)
    }

    fn mark_attempt(&self) {
        *self.last_attempt.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// The metadata endpoints, discovering them if needed. Call with the
    /// refresh lock held.
    async fn endpoints(&self) -> Result<&Endpoints, FetchError> {
        if let Some(e) = self.endpoints.get() {
            return Ok(e);
        }
        let e = fetch::discover(&self.http, &self.issuer).await?;
        Ok(self.endpoints.get_or_init(|| e))
    }

    /// The introspection endpoint, discovering it if needed (rate limited
    /// like JWKS refetches).
    pub async fn introspection_endpoint(&self) -> Option<String> {
        if let Some(e) = self.endpoints.get() {
            return e.introspection_endpoint.clone();
        }
        let _g = self.refresh_lock.lock().await;
        if self.endpoints.get().is_none() {
            if !self.may_attempt() {
                return None;
            }
            self.mark_attempt();
        }
        match self.endpoints().await {
            Ok(e) => e.introspection_endpoint.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "authorization server discovery failed");
                None
            }
        }
    }

    /// Refetches the JWKS because a token named `kid`, unless another task
    /// already did (then its result is used) or the last attempt was less
    /// than the interval ago. Keeps the known keys when the fetch fails.
    ///
    /// Waiting for the lock (rather than returning at once when a fetch is
    /// in flight) lets a token whose key that fetch brings validate.
    pub async fn refresh_for(&self, kid: Option<&str>) -> Arc<KeySet> {
        let _g = self.refresh_lock.lock().await;
        let cur = self.current();
        if cur.has_kid(kid) || !self.may_attempt() {
            return cur;
        }
        self.mark_attempt();
        let _ = self.fetch_and_store().await;
        self.current()
    }

    /// Fetches now, ignoring the interval (start-up prefetch).
    pub async fn refresh_now(&self) -> Result<usize, FetchError> {
        let _g = self.refresh_lock.lock().await;
        self.mark_attempt();
        self.fetch_and_store().await
    }

    async fn fetch_and_store(&self) -> Result<usize, FetchError> {
        let r = self.fetch().await;
        match &r {
            Ok(set) => {
                let n = set.len();
                tracing::debug!(keys = n, "JWKS fetched");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = set.clone();
                self.fetched_at
                    .store(crate::unix_now().max(1), Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, "JWKS fetch failed; keeping known keys"),
        }
        r.map(|s| s.len())
    }

    async fn fetch(&self) -> Result<Arc<KeySet>, FetchError> {
        let uri = self
            .endpoints()
            .await?
            .jwks_uri
            .clone()
            .ok_or(FetchError::Missing("jwks_uri"))?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = fetch::get(&self.http, &uri).await?;
        let set = KeySet::parse(&body, &self.algorithms).map_err(|_| FetchError::Json)?;
        Ok(Arc::new(set))
    }

    /// Starts a background refetch when the key set is older than the
    /// maximum age (so a key the authorization server withdrew stops
    /// verifying). Cheap when nothing is due: one atomic load.
    pub fn maybe_refresh_in_background(self: &Arc<Self>, now: i64) {
        let at = self.fetched_at.load(Ordering::Relaxed);
        if at == 0 || now.saturating_sub(at) < self.max_age {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.may_attempt() {
            return;
        }
        if self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        handle.spawn(async move {
            if this.may_attempt() {
                let _g = this.refresh_lock.lock().await;
                if this.may_attempt() {
                    this.mark_attempt();
                    let _ = this.fetch_and_store().await;
                }
            }
            this.background.store(false, Ordering::Release);
        });
    }
}
