//! The [`Validator`]: JWT access tokens verified against the authorization
//! server's JWKS (or opaque tokens introspected), with a verified-token
//! cache in front.

use crate::claims::{Claims, RawClaims, ScopeImplications};
use crate::error::{ConfigError, InvalidReason, ValidationError};
use crate::fetch::{self, ClientCredentials};
use crate::jwk::{Algorithm, Lookup};
use crate::jwt;
use crate::keys::KeyStore;
use crate::url::ResourceUrl;
use std::sync::Arc;
use std::time::Duration;

/// Validates access tokens for one protected resource.
///
/// Cheap to clone (an `Arc` inside); share one per process. See the
/// [crate docs](crate) for an example.
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("issuer", &self.inner.issuer)
            .field("resource", &self.inner.resource.exact)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct CacheEntry {
    /// Unix seconds after which the entry no longer counts.
    valid_until: i64,
    claims: Arc<Claims>,
}

struct Introspection {
    creds: ClientCredentials,
    endpoint: Option<String>,
    ttl: i64,
}

struct Inner {
    issuer: String,
    resource: ResourceUrl,
    leeway: i64,
    max_token_bytes: usize,
    max_header_bytes: usize,
    algorithms: Vec<Algorithm>,
    /// The JWT `typ` accepted instead of an access token's (`None`: `at+jwt`).
    typ: Option<String>,
    implications: Arc<ScopeImplications>,
    keys: Arc<KeyStore>,
    cache: Option<quick_cache::sync::Cache<Box<str>, CacheEntry>>,
    introspection: Option<Introspection>,
}

/// Configures a [`Validator`]. Start with [`Validator::builder`].
#[must_use]
pub struct ValidatorBuilder {
    issuer: String,
    resource: String,
    jwks_uri: Option<String>,
    leeway: Duration,
    max_token_bytes: usize,
    max_header_bytes: usize,
    algorithms: Vec<Algorithm>,
    typ: Option<String>,
    implications: ScopeImplications,
    refresh_interval: Duration,
    max_age: Duration,
    cache_capacity: usize,
    http: Option<reqwest::Client>,
    introspection: Option<(String, String)>,
    introspection_endpoint: Option<String>,
    introspection_ttl: Duration,
}

impl ValidatorBuilder {
    /// Use this JWKS URL instead of the one in the discovered metadata
    /// (discovery is then skipped).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    /// Accept JWTs of this `typ` instead of access tokens (`at+jwt`), e.g.
    /// `authgate-caller+jwt` for the caller assertions `authgate gateway`
    /// sends its upstreams. The other checks stay: signature, `iss`, `aud`,
    /// times. Never set it to a type another token of the same issuer has
    /// (an ID token's `JWT`), or that token would pass.
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Largest token accepted, in bytes (default 8 KiB).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.max_token_bytes = n;
        self
    }

    /// Largest encoded JOSE header accepted, in bytes (default 1 KiB,
    /// at most 2 KiB).
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }

    /// Restricts the accepted algorithms further (default: ES256, RS256,
    /// EdDSA; nothing outside those is ever accepted).
    pub fn algorithms(mut self, algs: &[Algorithm]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }

    /// Declares that `scope` implies each of `implied`, so
    /// [`Claims::has_scope`] answers true for them (transitively).
    pub fn scope_implies<I, S>(mut self, scope: impl Into<String>, implied: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.implications.add(scope, implied);
        self
    }

    /// Minimum time between two JWKS fetches caused by unknown `kid`s
    /// (default 30 s). Failed fetches count too.
    pub fn jwks_refresh_interval(mut self, d: Duration) -> Self {
        self.refresh_interval = d;
        self
    }

    /// Age after which the key set is refetched in the background, so a
    /// withdrawn key stops verifying (default 1 h).
    pub fn jwks_max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// Entries in the verified-token cache (default 10 000; 0 disables it).
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = n;
        self
    }

    /// The HTTP client for discovery, JWKS and introspection (default: 5 s
    /// timeout, no redirects).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates every token by RFC 7662 introspection instead of locally
    /// (an active answer whose `token_type` is present and not an access
    /// token type, e.g. `refresh_token`, is refused),
    /// authenticating with `client_secret_basic`. Results are cached for
    /// [`introspection_cache_ttl`](Self::introspection_cache_ttl) at most.
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.introspection = Some((client_id.into(), client_secret.into()));
        self
    }

    /// The introspection endpoint, instead of the discovered one.
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.introspection_endpoint = Some(url.into());
        self
    }

    /// How long an introspection result is reused (default 60 s): the
    /// longest a revoked token keeps working.
    pub fn introspection_cache_ttl(mut self, d: Duration) -> Self {
        self.introspection_ttl = d;
        self
    }

    /// Checks the configuration. No network access happens here: metadata
    /// and keys are fetched on first use, or by [`Validator::prefetch`].
    pub fn build(self) -> Result<Validator, ConfigError> {
        crate::url::canonical(&self.issuer).ok_or(ConfigError::InvalidUrl("issuer"))?;
        let resource = ResourceUrl::parse(&self.resource, "resource")?;
        for (u, what) in [
            (&self.jwks_uri, "jwks_uri"),
            (&self.introspection_endpoint, "introspection_endpoint"),
        ] {
            if u.as_deref()
                .is_some_and(|u| !crate::url::is_absolute_http_url(u))
            {
                return Err(ConfigError::InvalidUrl(what));
            }
        }
        let algorithms: Vec<Algorithm> = Algorithm::ALL
            .into_iter()
            .filter(|a| self.algorithms.contains(a))
            .collect();
        if algorithms.is_empty() {
            return Err(ConfigError::Invalid("no signing algorithm is accepted"));
        }
        let http = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(3))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("authgate-resource/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|_| ConfigError::HttpClient)?,
        };
        let keys = Arc::new(KeyStore::new(
            self.issuer.clone(),
            self.jwks_uri,
            http,
            algorithms.clone(),
            self.refresh_interval,
            self.max_age,
        ));
        let cache =
            (self.cache_capacity > 0).then(|| quick_cache::sync::Cache::new(self.cache_capacity));
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Validator {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                resource,
                leeway: secs(self.leeway),
                max_token_bytes: self.max_token_bytes,
                max_header_bytes: self.max_header_bytes.min(jwt::HEADER_LIMIT),
                algorithms,
                typ: self.typ,
                implications: Arc::new(self.implications),
                keys,
                cache,
                introspection: self.introspection.map(|(id, secret)| Introspection {
                    creds: ClientCredentials::new(&id, &secret),
                    endpoint: self.introspection_endpoint,
                    ttl: secs(self.introspection_ttl),
                }),
            }),
        })
    }
}

impl Validator {
    /// Starts a configuration: `issuer` is the authorization server's
    /// issuer identifier exactly as it publishes it; `resource` is this MCP
    /// server's canonical URL (the `aud` of its tokens).
    pub fn builder(issuer: impl Into<String>, resource: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder {
            issuer: issuer.into(),
            resource: resource.into(),
            jwks_uri: None,
            leeway: Duration::from_secs(30),
            max_token_bytes: 8 * 1024,
            max_header_bytes: 1024,
            algorithms: Algorithm::ALL.to_vec(),
            typ: None,
            implications: ScopeImplications::new(),
            refresh_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            cache_capacity: 10_000,
            http: None,
            introspection: None,
            introspection_endpoint: None,
            introspection_ttl: Duration::from_secs(60),
        }
    }

    /// The configured issuer, byte for byte.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The configured resource URL, byte for byte.
    pub fn resource(&self) -> &str {
        &self.inner.resource.exact
    }

    /// The absolute URL of this resource's RFC 9728 metadata (path-inserted).
    pub fn resource_metadata_url(&self) -> String {
        self.inner.resource.metadata_url()
    }

    #[cfg(feature = "axum")]
    pub(crate) fn resource_url(&self) -> &ResourceUrl {
        &self.inner.resource
    }

    /// The configured scope implications.
    pub fn scope_implications(&self) -> &ScopeImplications {
        &self.inner.implications
    }

    /// JWKS documents requested so far (for metrics and tests).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.keys.fetch_count()
    }

    /// Whether a key set was ever fetched (for readiness checks: a
    /// resource whose keys never loaded can only answer 503).
    pub fn keys_loaded(&self) -> bool {
        self.inner.keys.ever_fetched()
    }

    /// Fetches the metadata and keys now instead of on the first request.
    /// Fails (without other effect) when the authorization server cannot be
    /// reached; validation then retries on its own.
    pub async fn prefetch(&self) -> Result<(), ValidationError> {
        if self.inner.introspection.is_some() {
            return match self.introspection_endpoint().await {
                Some(_) => Ok(()),
                None => Err(ValidationError::Unavailable),
            };
        }
        match self.inner.keys.refresh_now().await {
            Ok(_) => Ok(()),
            Err(_) => Err(ValidationError::Unavailable),
        }
    }

    /// Validates a bearer token (the part after `Bearer `).
    pub async fn validate(&self, token: &str) -> Result<Arc<Claims>, ValidationError> {
        self.validate_at(token, crate::unix_now()).await
    }

    /// Validates as of `now` (seconds since the epoch).
    pub async fn validate_at(&self, token: &str, now: i64) -> Result<Arc<Claims>, ValidationError> {
        let inner = &*self.inner;
        if let Some(cache) = &inner.cache
            && let Some(e) = cache.get(token)
        {
            if now < e.valid_until {
                return Ok(e.claims);
            }
            cache.remove(token);
        }
        let (claims, valid_until) = if inner.introspection.is_some() {
            self.introspect(token, now).await?
        } else {
            let c = self.verify_jwt(token, now).await?;
            let until = c.exp.saturating_add(inner.leeway);
            (c, until)
        };
        let claims = Arc::new(claims);
        if let Some(cache) = &inner.cache {
            cache.insert(
                token.into(),
                CacheEntry {
                    valid_until,
                    claims: claims.clone(),
                },
            );
        }
        Ok(claims)
    }

    /// The signature path: no cache involved.
    async fn verify_jwt(&self, token: &str, now: i64) -> Result<Claims, ValidationError> {
        let inner = &*self.inner;
        let jws = jwt::split(token, inner.max_token_bytes, inner.max_header_bytes)?;
        let mut buf: jwt::HeaderBuf = [0; jwt::HEADER_LIMIT / 4 * 3 + 8];
        let header = jwt::header(
            jws.header,
            &mut buf,
            &inner.algorithms,
            inner.typ.as_deref(),
        )?;
        let kid = header.kid.as_deref();
        let mut keys = inner.keys.current();
        if matches!(keys.find(kid, header.alg), Lookup::NotFound) {
            keys = inner.keys.refresh_for(kid).await;
        } else {
            inner.keys.maybe_refresh_in_background(now);
        }
        match keys.find(kid, header.alg) {
            Lookup::Found(key) => jwt::verify(key, &jws)?,
            Lookup::WrongAlg => return Err(InvalidReason::Algorithm.into()),
            Lookup::NotFound if !inner.keys.ever_fetched() => {
                return Err(ValidationError::Unavailable);
            }
            Lookup::NotFound => return Err(InvalidReason::UnknownKey.into()),
        }
        let raw = jwt::payload(jws.payload)?;
        self.check_claims(raw, now, false)
    }

    /// `iss`, `aud`, time claims, required claims.
    fn check_claims(
        &self,
        raw: RawClaims,
        now: i64,
        introspected: bool,
    ) -> Result<Claims, ValidationError> {
        let inner = &*self.inner;
        let mut raw = raw;
        if introspected {
            // RFC 7662 makes these optional; the issuer vouched for the token.
            raw.iss.get_or_insert_with(|| inner.issuer.clone());
            raw.iat.get_or_insert(now);
            raw.exp.get_or_insert(
                now.saturating_add(inner.introspection.as_ref().map_or(0, |i| i.ttl)),
            );
        }
        if raw.iss.as_deref() != Some(inner.issuer.as_str()) {
            return Err(if raw.iss.is_none() {
                InvalidReason::Claims
            } else {
                InvalidReason::Issuer
            }
            .into());
        }
        match &raw.aud {
            None => return Err(InvalidReason::Claims.into()),
            Some(auds) if !auds.iter().any(|a| inner.resource.matches(a)) => {
                return Err(InvalidReason::Audience.into());
            }
            Some(_) => {}
        }
        let leeway = inner.leeway;
        let (Some(exp), Some(iat)) = (raw.exp, raw.iat) else {
            return Err(InvalidReason::Claims.into());
        };
        if now >= exp.saturating_add(leeway) {
            return Err(InvalidReason::Expired.into());
        }
        if raw.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(InvalidReason::NotYetValid.into());
        }
        if iat > now.saturating_add(leeway) {
            return Err(InvalidReason::IssuedInFuture.into());
        }
        Claims::from_raw(raw, &inner.implications).ok_or(InvalidReason::Claims.into())
    }

    async fn introspection_endpoint(&self) -> Option<String> {
        let i = self.inner.introspection.as_ref()?;
        match &i.endpoint {
            Some(e) => Some(e.clone()),
            None => self.inner.keys.introspection_endpoint().await,
        }
    }

    async fn introspect(&self, token: &str, now: i64) -> Result<(Claims, i64), ValidationError> {
        let inner = &*self.inner;
        let Some(i) = &inner.introspection else {
            return Err(ValidationError::Unavailable);
        };
        if token.len() > inner.max_token_bytes {
            return Err(InvalidReason::TooLarge.into());
        }
        let endpoint = self
            .introspection_endpoint()
            .await
            .ok_or(ValidationError::Unavailable)?;
        let body = fetch::introspect(inner.keys.http(), &endpoint, &i.creds, token)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "token introspection failed");
                ValidationError::Unavailable
            })?;
        let raw: RawClaims =
            serde_json::from_slice(&body).map_err(|_| ValidationError::Unavailable)?;
        if raw.active != Some(true) {
            return Err(InvalidReason::Inactive.into());
        }
        if !is_access_token_type(raw.extra.get("token_type")) {
            return Err(InvalidReason::NotAccessToken.into());
        }
        let claims = self.check_claims(raw, now, true)?;
        let until = claims
            .exp
            .saturating_add(inner.leeway)
            .min(now.saturating_add(i.ttl));
        Ok((claims, until))
    }
}

/// Whether an introspection answer's `token_type` allows the token to be
/// used as an access token. A resource server must never accept a refresh
/// token (issue 17): authgate answers `refresh_token` for one. RFC 7662
/// makes `token_type` optional and means by it the OAuth token type of
/// RFC 6749 §7.1 (`Bearer`, `DPoP`); some servers send the RFC 8693 type
/// identifiers instead. So: absent is accepted (authgate always sends it;
/// another server may not, and `active` plus the audience check still
/// hold), an access token type is accepted, anything else — a refresh
/// token, an id token, a non-string — is refused.
fn is_access_token_type(v: Option<&serde_json::Value>) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(t)) => {
            t.eq_ignore_ascii_case("bearer")
                || t.eq_ignore_ascii_case("dpop")
                || t == "access_token"
                || t == "urn:ietf:params:oauth:token-type:access_token"
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod token_type_tests {
    use super::is_access_token_type;
    use serde_json::json;

    #[test]
    fn only_access_token_types_pass() {
        for ok in [
            json!("Bearer"),
            json!("bearer"),
            json!("DPoP"),
            json!("access_token"),
        ] {
            assert!(is_access_token_type(Some(&ok)), "{ok}");
        }
        assert!(is_access_token_type(None));
        for bad in [
            json!("refresh_token"),
            json!("urn:ietf:params:oauth:token-type:refresh_token"),
            json!("N_A"),
            json!(1),
        ] {
            assert!(!is_access_token_type(Some(&bad)), "{bad}");
        }
    }
}
