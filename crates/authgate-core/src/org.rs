//! Organizations: a name, verified email domains, the upstream connections
//! its members sign in with, and its policies. Membership is by domain: a
//! person belongs to an organization when their email's domain is one of its
//! *verified* domains (no membership table: the operator manages domains,
//! not people, and an upstream's verified email decides who is in).

use crate::clock::UnixTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// A slug: `[a-z0-9-]`, 1–63 characters (see [`valid_org_id`]).
    pub id: String,
    pub name: String,
    /// Upstream connections members sign in with, in the order offered.
    pub connection_ids: Vec<String>,
    /// Members may not sign in with a local password.
    pub forbid_local_passwords: bool,
    /// Members must pass a second factor (read by the MFA policy).
    pub require_mfa: bool,
    pub disabled: bool,
    pub created_at: UnixTime,
}

/// How a domain was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainMethod {
    /// A DNS TXT record carried the verification token.
    Dns,
    /// An operator marked it verified by hand.
    Manual,
}

impl DomainMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainMethod::Dns => "dns",
            DomainMethod::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dns" => Some(DomainMethod::Dns),
            "manual" => Some(DomainMethod::Manual),
            _ => None,
        }
    }
}

/// An email domain claimed by an organization. A domain is unique across
/// organizations; it routes sign-ins only once verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDomain {
    pub org_id: String,
    /// Lower-case ASCII (IDNA "punycode") form: see [`normalize_domain`].
    pub domain: String,
    /// The value expected in the `_authgate-challenge.<domain>` TXT record
    /// (not a secret: it proves control of the DNS zone, anyone may see it).
    pub verification_token: String,
    pub verified_at: Option<UnixTime>,
    /// How it was verified (`None` while unverified).
    pub method: Option<DomainMethod>,
    pub created_at: UnixTime,
}

impl OrgDomain {
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }
}

/// `(resource, scope)` may only be granted to people in one of `groups`
/// (groups as the upstream identity provider reported them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeGroupRule {
    pub resource_id: String,
    pub scope: String,
    pub groups: Vec<String>,
}

/// Why a domain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid domain name: {0}")]
pub struct InvalidDomain(pub String);

/// A domain as stored and compared: IDNA to ASCII, lower case, no trailing
/// dot; at least two labels; no IP addresses.
pub fn normalize_domain(input: &str) -> Result<String, InvalidDomain> {
    let bad = || InvalidDomain(input.chars().take(80).collect());
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(bad());
    }
    let host = url::Host::parse(trimmed).map_err(|_| bad())?;
    let url::Host::Domain(d) = host else {
        return Err(bad());
    };
    let d = d.to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(d)
}

/// The normalized domain of an email address (after the last `@`).
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    if local.is_empty() {
        return None;
    }
    normalize_domain(domain).ok()
}

/// Organization ids are slugs so they are safe in URLs, CLI arguments and
/// the `org_id` claim.
pub fn valid_org_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_normalize_to_lower_case_ascii() {
        assert_eq!(
            normalize_domain("Example.COM.").as_deref(),
            Ok("example.com")
        );
        assert_eq!(
            normalize_domain("Bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        for bad in [
            "",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "a..b",
            "-a.com",
            "a b.com",
            "a/b.com",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_domain_takes_the_part_after_the_last_at() {
        assert_eq!(email_domain("Ann@Acme.COM").as_deref(), Some("acme.com"));
        assert_eq!(
            email_domain("\"a@b\"@acme.com").as_deref(),
            Some("acme.com")
        );
        assert_eq!(email_domain("@acme.com"), None);
        assert_eq!(email_domain("nobody"), None);
    }

    #[test]
    fn org_ids_are_slugs() {
        assert!(valid_org_id("acme-2"));
        assert!(!valid_org_id("Acme"));
        assert!(!valid_org_id(""));
        assert!(!valid_org_id("-x"));
        assert!(!valid_org_id("a/b"));
    }
}
