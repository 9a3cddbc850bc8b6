//! Abuse resistance for dynamic client registration that does not lock out
//! people behind shared egress: the `[dynamic_registration]` config, a
//! generous per-address token bucket (keyed by the one client-address rule
//! in `http::client_address`) and initial access tokens.

use crate::config_error::ConfigError;
pub use crate::net::AddressKey;
use authgate_core::secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle (full) ones are forgotten.
const MAX_BUCKETS: usize = 100_000;

/// `[dynamic_registration]` in the configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// Serve RFC 7591 registration at `<issuer>/register` (each MCP server
    /// can still refuse dynamic clients with `allow_dynamic_registration`).
    pub enabled: bool,
    /// Sustained registrations per minute from one address (IPv4 address or
    /// IPv6 /64).
    pub rate_limit_per_minute: u32,
    /// Registrations one address may make in a burst.
    pub rate_limit_burst: u32,
    /// Most live dynamically registered clients; registration answers 503
    /// when full (identical re-registrations still succeed).
    pub max_clients: i64,
    /// Dynamic clients not used for this long are deleted (checked hourly).
    pub unused_client_ttl_secs: i64,
    /// When not empty, registration requires `Authorization: Bearer <one
    /// of these>`. An entry is the token itself or `sha256:<hex>` of it.
    pub initial_access_tokens: Vec<String>,
    /// Moved to the top-level `trusted_proxies` (one client-address rule
    /// for every limiter); kept only to refuse it with a message saying so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rate_limit_per_minute: 30,
            rate_limit_burst: 10,
            max_clients: 10_000,
            unused_client_ttl_secs: 30 * 86400,
            initial_access_tokens: vec![],
            trusted_proxies: vec![],
        }
    }
}

pub fn validate_config(c: &RegistrationConfig) -> Result<(), ConfigError> {
    let key = |k: &str| format!("dynamic_registration.{k}");
    if c.rate_limit_per_minute == 0 || c.rate_limit_per_minute > 100_000 {
        return Err(ConfigError::new(
            key("rate_limit_per_minute"),
            "must be between 1 and 100000",
        ));
    }
    if c.rate_limit_burst == 0 || c.rate_limit_burst > 100_000 {
        return Err(ConfigError::new(
            key("rate_limit_burst"),
            "must be between 1 and 100000",
        ));
    }
    if c.max_clients < 1 {
        return Err(ConfigError::new(key("max_clients"), "must be at least 1"));
    }
    if c.unused_client_ttl_secs < 3600 {
        return Err(ConfigError::new(
            key("unused_client_ttl_secs"),
            "must be at least 3600",
        ));
    }
    for (i, t) in c.initial_access_tokens.iter().enumerate() {
        let ok = match t.strip_prefix("sha256:") {
            Some(h) => h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()),
            None => t.len() >= 16,
        };
        if !ok {
            return Err(ConfigError::new(
                key(&format!("initial_access_tokens[{i}]")),
                "must be a token of at least 16 characters or sha256:<64 hex digits>",
            ));
        }
    }
    if !c.trusted_proxies.is_empty() {
        return Err(ConfigError::new(
            key("trusted_proxies"),
            "has moved to the top-level key trusted_proxies (it now applies to sign-in \
             throttling and the audit log too); move the list there",
        ));
    }
    Ok(())
}

/// A token bucket per address.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<AddressKey, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; `Err` holds how long until one is available.
    pub fn check(&self, key: AddressKey) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut g) = self.buckets.lock() else {
            return Ok(());
        };
        if g.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.per_sec, self.burst);
            g.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
            if g.len() >= MAX_BUCKETS {
                g.clear();
            }
        }
        let (tokens, at) = g.entry(key).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.per_sec;
            Err(Duration::from_secs_f64(wait.max(0.001)))
        }
    }
}

/// The configured initial access tokens, as hashes.
pub fn initial_token_hashes(c: &RegistrationConfig) -> Vec<String> {
    c.initial_access_tokens
        .iter()
        .map(|t| match t.strip_prefix("sha256:") {
            Some(h) => h.to_ascii_lowercase(),
            None => secret::hash(t),
        })
        .collect()
}

/// Whether `token` is one of the configured initial access tokens (every
/// hash is compared, in constant time each).
pub fn initial_token_ok(token: Option<&str>, hashes: &[String]) -> bool {
    let Some(t) = token else { return false };
    hashes.iter().fold(false, |ok, h| secret::verify(t, h) | ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = RateLimiter::new(60, 3);
        let k = AddressKey::of("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.check(k).is_ok());
        }
        let wait = l.check(k).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        let other = AddressKey::of("10.0.0.2".parse().unwrap());
        assert!(l.check(other).is_ok());
    }

    #[test]
    fn initial_tokens() {
        let c = RegistrationConfig {
            initial_access_tokens: vec![
                "plain-token-0123456789".into(),
                format!("sha256:{}", secret::hash("hashed-token-0123456789")),
            ],
            ..RegistrationConfig::default()
        };
        let hashes = initial_token_hashes(&c);
        assert!(initial_token_ok(Some("plain-token-0123456789"), &hashes));
        assert!(initial_token_ok(Some("hashed-token-0123456789"), &hashes));
        assert!(!initial_token_ok(Some("nope"), &hashes));
        assert!(!initial_token_ok(None, &hashes));
    }
}
