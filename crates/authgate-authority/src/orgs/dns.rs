//! Domain verification by DNS: the organization publishes
//! `_authgate-challenge.<domain> TXT "authgate-domain-verification=<token>"`
//! and authgate looks it up through a [`DomainResolver`]. The real resolver
//! is hickory's (the system's name servers); tests use [`StaticResolver`].

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// The label the TXT record is published under.
pub const CHALLENGE_LABEL: &str = "_authgate-challenge";
/// The TXT value's prefix; the token follows it.
pub const TXT_PREFIX: &str = "authgate-domain-verification=";
/// At most this many TXT strings are looked at (bounded work per lookup).
pub const MAX_TXT_RECORDS: usize = 64;

/// The name the record is looked up under.
pub fn challenge_name(domain: &str) -> String {
    format!("{CHALLENGE_LABEL}.{domain}")
}

/// The TXT value that verifies `token`.
pub fn expected_txt(token: &str) -> String {
    format!("{TXT_PREFIX}{token}")
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The name exists with no TXT record, or does not exist.
    #[error("no TXT record at {0}")]
    NoRecord(String),
    /// The name servers could not be reached or failed.
    #[error("could not resolve {name}: {reason}")]
    Failed { name: String, reason: String },
}

/// Looks up TXT records.
#[async_trait]
pub trait DomainResolver: Send + Sync {
    /// The TXT strings at `name` (each record's strings joined, RFC 7208
    /// style), at most [`MAX_TXT_RECORDS`].
    async fn txt(&self, name: &str) -> Result<Vec<String>, ResolveError>;
}

/// Whether `records` carry the verification for `token` (exact match after
/// trimming, so `…=<token>extra` does not pass).
pub fn records_verify(records: &[String], token: &str) -> bool {
    let want = expected_txt(token);
    records
        .iter()
        .take(MAX_TXT_RECORDS)
        .any(|r| r.trim().trim_matches('"') == want)
}

/// An in-memory resolver: names to TXT strings.
#[derive(Default)]
pub struct StaticResolver {
    records: Mutex<HashMap<String, Vec<String>>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, name: &str, txt: Vec<String>) {
        if let Ok(mut m) = self.records.lock() {
            m.insert(name.to_ascii_lowercase(), txt);
        }
    }
}

#[async_trait]
impl DomainResolver for StaticResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, ResolveError> {
        let m = self.records.lock().map_err(|_| ResolveError::Failed {
            name: name.into(),
            reason: "resolver state poisoned".into(),
        })?;
        m.get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| ResolveError::NoRecord(name.into()))
    }
}

/// How long one DNS lookup may take in all (bounded: an operator waits on
/// it).
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The real resolver: hickory over plain UDP/TCP DNS, to the system's name
/// servers (`/etc/resolv.conf`) or to given ones.
pub struct HickoryResolver {
    inner: hickory_resolver::TokioResolver,
}

impl HickoryResolver {
    /// Uses the system's name servers.
    pub fn system() -> Result<Self, ResolveError> {
        let mut b =
            hickory_resolver::TokioResolver::builder_tokio().map_err(|e| ResolveError::Failed {
                name: "(system configuration)".into(),
                reason: e.to_string(),
            })?;
        Self::bound(b.options_mut());
        Self::finish(b)
    }

    /// Asks only the name server at `addr` (tests, split-horizon setups).
    pub fn with_server(addr: std::net::SocketAddr) -> Result<Self, ResolveError> {
        use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
        let mut b = hickory_resolver::TokioResolver::builder_with_config(
            config,
            hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
        );
        Self::bound(b.options_mut());
        Self::finish(b)
    }

    fn bound(opts: &mut hickory_resolver::config::ResolverOpts) {
        opts.timeout = std::time::Duration::from_secs(2);
        opts.attempts = 2;
    }

    fn finish(
        b: hickory_resolver::ResolverBuilder<hickory_resolver::net::runtime::TokioRuntimeProvider>,
    ) -> Result<Self, ResolveError> {
        let inner = b.build().map_err(|e| ResolveError::Failed {
            name: "(resolver)".into(),
            reason: e.to_string(),
        })?;
        Ok(Self { inner })
    }
}

#[async_trait]
impl DomainResolver for HickoryResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, ResolveError> {
        // Fully qualified: no search-domain expansion.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, self.inner.txt_lookup(fqdn.as_str()))
            .await
            .map_err(|_| ResolveError::Failed {
                name: name.into(),
                reason: "timed out".into(),
            })?;
        let lookup = match lookup {
            Ok(l) => l,
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
                return Err(ResolveError::NoRecord(name.into()));
            }
            Err(e) => {
                return Err(ResolveError::Failed {
                    name: name.into(),
                    reason: e.to_string(),
                });
            }
        };
        let mut out = Vec::new();
        for r in lookup.answers().iter().take(MAX_TXT_RECORDS) {
            if let hickory_resolver::proto::rr::RData::TXT(t) = &r.data {
                let joined: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
                out.push(String::from_utf8_lossy(&joined).into_owned());
            }
        }
        if out.is_empty() {
            return Err(ResolveError::NoRecord(name.into()));
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_value_verifies() {
        let t = "abc123";
        assert!(records_verify(&[expected_txt(t)], t));
        assert!(records_verify(
            &["v=spf1 -all".into(), format!("\"{}\"", expected_txt(t))],
            t
        ));
        assert!(!records_verify(&[format!("{}x", expected_txt(t))], t));
        assert!(!records_verify(&[expected_txt("other")], t));
        assert!(!records_verify(&[], t));
        assert_eq!(challenge_name("acme.com"), "_authgate-challenge.acme.com");
    }

    /// No network: a name server that is not there gives a clear "could
    /// not resolve" error, never a panic or a hang.
    #[tokio::test]
    async fn hickory_without_a_name_server_fails_cleanly() {
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string());
            match s.and_then(|s| s.local_addr().map_err(|e| e.to_string())) {
                Ok(a) => a.port(),
                Err(e) => return eprintln!("skipped: no loopback socket: {e}"),
            }
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let r = match HickoryResolver::with_server(addr) {
            Ok(r) => r,
            Err(e) => panic!("building the resolver: {e}"),
        };
        let started = std::time::Instant::now();
        let e = r.txt("_authgate-challenge.nonexistent-3f9c2.example").await;
        assert!(started.elapsed() <= LOOKUP_TIMEOUT + std::time::Duration::from_secs(1));
        match e {
            Err(ResolveError::Failed { name, .. }) => {
                assert!(name.contains("nonexistent-3f9c2"));
                let msg = ResolveError::Failed {
                    name,
                    reason: "x".into(),
                }
                .to_string();
                assert!(msg.starts_with("could not resolve"), "{msg}");
            }
            other => panic!("expected a resolve failure, got {other:?}"),
        }
    }
}
