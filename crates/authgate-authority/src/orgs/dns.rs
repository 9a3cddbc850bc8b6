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

#[cfg(test)]
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
}
