//! The process-wide services behind client resolution and registration,
//! built once at start-up from the settings and held by
//! the `Authority`.

use crate::cimd::cache::DocumentCache;
use crate::cimd::config::MAX_CONCURRENT_FETCHES;
use crate::cimd::jwks::JwksCache;
use crate::config::{ConfigError, Settings};
use crate::outbound::{AddressPolicy, FetchLimits, Fetcher};
use crate::registration::guard::RegistrationGuard;
use std::time::Duration;

/// Process-wide state of client registration: the SSRF-guarded fetcher,
/// the document and client-JWKS caches, and the registration rate limiter;
/// and the fetcher of the admin connection check (the same fetcher and
/// address policy, with the private-network switch when configured).
pub struct ClientServices {
    pub fetcher: Fetcher,
    pub connection_check: Fetcher,
    pub documents: DocumentCache,
    pub jwks: JwksCache,
    pub registration: RegistrationGuard,
}

impl ClientServices {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let c = &settings.raw.cimd;
        let fetcher = Fetcher::new(
            AddressPolicy {
                allow_loopback: c.allow_loopback,
                allow_private: false,
            },
            FetchLimits {
                max_bytes: c.max_document_bytes,
                connect_timeout: Duration::from_millis(c.connect_timeout_ms),
                timeout: Duration::from_millis(c.timeout_ms),
                max_concurrent: MAX_CONCURRENT_FETCHES,
                per_host: c.max_fetches_per_host,
                negative_cache: Duration::from_secs(c.negative_cache_secs),
            },
            "authgate",
        )
        .map_err(|e| ConfigError::new("cimd", e))?;
        let connection_check = Fetcher::new(
            AddressPolicy {
                allow_loopback: false,
                allow_private: settings.raw.admin_connection_check_allow_private,
            },
            FetchLimits::connection_check(),
            "authgate-connection-check",
        )
        .map(|f| f.counted_as(crate::outbound::fetch::KIND_CONNECTION_CHECK))
        .map_err(|e| ConfigError::new("admin_connection_check_allow_private", e))?;
        Ok(Self {
            fetcher,
            connection_check,
            documents: DocumentCache::new(Duration::from_secs(c.negative_cache_secs)),
            jwks: JwksCache::new(Duration::from_secs(c.negative_cache_secs)),
            registration: RegistrationGuard::new(&settings.raw.dynamic_registration),
        })
    }
}
