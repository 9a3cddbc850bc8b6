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
            connection_check_policy(
                &settings.issuer,
                settings.raw.admin_connection_check_allow_private,
            ),
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

/// The connection check's address policy. Loopback MCP servers are checked
/// when the issuer itself is loopback (authgate and its servers on one
/// machine, as in development: nothing reachable from outside is at
/// stake); private networks only with `allow_private`. Link-local and the
/// cloud metadata addresses stay refused whatever the switches.
pub fn connection_check_policy(issuer: &str, allow_private: bool) -> AddressPolicy {
    let issuer_is_loopback = url::Url::parse(issuer)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(authgate_core::resource_uri::is_loopback_host)
        })
        .unwrap_or(false);
    AddressPolicy {
        allow_loopback: issuer_is_loopback,
        allow_private,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_servers_are_checked_when_the_issuer_is_loopback() {
        for issuer in [
            "http://127.0.0.1:8080",
            "http://localhost:9000/t",
            "http://[::1]:80",
        ] {
            let p = connection_check_policy(issuer, false);
            assert!(p.permits(ip("127.0.0.1")), "{issuer}");
            assert!(p.allows_plain_http_to("localhost"), "{issuer}");
            // Still no private networks, never link-local or metadata.
            assert!(!p.permits(ip("10.0.0.5")), "{issuer}");
            assert!(!p.permits(ip("192.168.1.2")), "{issuer}");
            assert!(!p.permits(ip("169.254.169.254")), "{issuer}");
        }
    }

    #[test]
    fn a_public_issuer_refuses_loopback_and_private_unless_allowed() {
        let p = connection_check_policy("https://auth.example.com", false);
        assert!(!p.permits(ip("127.0.0.1")));
        assert!(!p.permits(ip("10.0.0.5")));
        assert!(p.permits(ip("93.184.216.34")));
        let p = connection_check_policy("https://auth.example.com", true);
        assert!(p.permits(ip("10.0.0.5")));
        assert!(!p.permits(ip("169.254.169.254")));
    }
}
