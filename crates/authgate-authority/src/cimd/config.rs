//! `[cimd]` in the configuration file: its keys, their checks, and the
//! cache lifetime they give a fetched document.

use crate::config_error::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// At most this many document and client-JWKS fetches run at once; later
/// ones wait (within their own time limit).
pub const MAX_CONCURRENT_FETCHES: usize = 64;
/// `[cimd]` in the configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CimdConfig {
    /// Accept client ID metadata documents at all (each MCP server can
    /// still turn them off with `allow_client_id_metadata_documents`).
    pub enabled: bool,
    /// When not empty, only documents on these hosts are accepted. An entry
    /// is a host name (`claude.ai`) or `*.` and a domain (`*.example.com`,
    /// every subdomain).
    pub allow_hosts: Vec<String>,
    /// Documents on these hosts are refused.
    pub deny_hosts: Vec<String>,
    /// Clients whose document is on one of these hosts get a "verified"
    /// label on the consent page.
    pub trusted_hosts: Vec<String>,
    /// UNSAFE outside tests: allows fetching from loopback addresses (and
    /// plain http to a loopback host) so tests can serve documents locally.
    /// Every other special-use address stays refused.
    pub allow_loopback: bool,
    /// Largest document read, in bytes.
    pub max_document_bytes: usize,
    pub connect_timeout_ms: u64,
    /// Whole fetch, body included.
    pub timeout_ms: u64,
    /// Bounds on how long a fetched document is reused (`Cache-Control:
    /// max-age` is clamped into them; `no-store`/`no-cache` count as the
    /// minimum).
    pub cache_min_secs: u64,
    pub cache_max_secs: u64,
    /// Used when the answer has no `max-age`.
    pub cache_default_secs: u64,
    /// Fetches at once to one host (documents and client JWKS): a host that
    /// stalls holds only these, never the slots other hosts need.
    pub max_fetches_per_host: usize,
    /// How long a failed document or `jwks_uri` fetch (or a document or key
    /// set that was refused) is answered from memory instead of fetched again.
    pub negative_cache_secs: u64,
    /// Most stored metadata document clients; beyond it clients not yet
    /// stored are refused at /authorize (`invalid_client`, naming this key).
    pub max_clients: i64,
    /// Stored metadata document clients not used for this long are deleted
    /// (checked hourly; blocked ones stay).
    pub unused_client_ttl_secs: i64,
}

impl Default for CimdConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_hosts: vec![],
            deny_hosts: vec![],
            trusted_hosts: vec![],
            allow_loopback: false,
            max_document_bytes: 64 * 1024,
            connect_timeout_ms: 3000,
            timeout_ms: 5000,
            cache_min_secs: 60,
            cache_max_secs: 24 * 3600,
            cache_default_secs: 300,
            max_fetches_per_host: 4,
            negative_cache_secs: 30,
            max_clients: 10_000,
            unused_client_ttl_secs: 30 * 86400,
        }
    }
}

fn valid_host_pattern(p: &str) -> bool {
    let h = p.strip_prefix("*.").unwrap_or(p);
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && !h.starts_with('.')
        && !h.ends_with('.')
}

/// Checks `[cimd]`; errors name the key.
pub fn validate_config(c: &CimdConfig) -> Result<(), ConfigError> {
    for (key, list) in [
        ("allow_hosts", &c.allow_hosts),
        ("deny_hosts", &c.deny_hosts),
        ("trusted_hosts", &c.trusted_hosts),
    ] {
        for (i, h) in list.iter().enumerate() {
            if !valid_host_pattern(h) {
                return Err(ConfigError::new(
                    format!("cimd.{key}[{i}]"),
                    format!("{h:?} is not a host name or *.domain pattern"),
                ));
            }
        }
    }
    for (key, v, min, max) in [
        (
            "max_document_bytes",
            c.max_document_bytes as u64,
            1024,
            1024 * 1024,
        ),
        ("connect_timeout_ms", c.connect_timeout_ms, 100, 60_000),
        ("timeout_ms", c.timeout_ms, 100, 120_000),
        ("cache_min_secs", c.cache_min_secs, 0, 7 * 86400),
        ("cache_max_secs", c.cache_max_secs, 0, 30 * 86400),
        ("cache_default_secs", c.cache_default_secs, 0, 30 * 86400),
        (
            "max_fetches_per_host",
            c.max_fetches_per_host as u64,
            1,
            MAX_CONCURRENT_FETCHES as u64,
        ),
        ("negative_cache_secs", c.negative_cache_secs, 0, 3600),
        ("max_clients", c.max_clients.max(0) as u64, 1, 10_000_000),
        (
            "unused_client_ttl_secs",
            c.unused_client_ttl_secs.max(0) as u64,
            3600,
            3650 * 86400,
        ),
    ] {
        if !(min..=max).contains(&v) {
            return Err(ConfigError::new(
                format!("cimd.{key}"),
                format!("must be between {min} and {max}"),
            ));
        }
    }
    if c.cache_min_secs > c.cache_max_secs {
        return Err(ConfigError::new(
            "cimd.cache_min_secs",
            "must not exceed cache_max_secs",
        ));
    }
    if c.connect_timeout_ms > c.timeout_ms {
        return Err(ConfigError::new(
            "cimd.connect_timeout_ms",
            "must not exceed timeout_ms",
        ));
    }
    if c.allow_loopback {
        tracing::warn!(
            "cimd.allow_loopback is on: client metadata documents may be fetched from loopback addresses; never use this in production"
        );
    }
    Ok(())
}

/// Freshness lifetime for a fetched document (or client JWKS).
pub fn cache_ttl(cfg: &CimdConfig, max_age: Option<u64>, no_cache: bool) -> Duration {
    let secs = if no_cache {
        cfg.cache_min_secs
    } else {
        max_age
            .unwrap_or(cfg.cache_default_secs)
            .clamp(cfg.cache_min_secs, cfg.cache_max_secs)
    };
    Duration::from_secs(secs)
}
