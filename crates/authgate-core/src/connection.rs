//! Upstream connections (identity providers a person can sign in through)
//! and the links between their subjects and local people (issue 19).
//! Protocol-specific settings live in [`Connection::config`] as JSON, so
//! OpenID Connect, GitHub and SAML share one stored shape.

use crate::clock::UnixTime;
use serde::{Deserialize, Serialize};

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    /// OpenID Connect (generic, and the Google, Microsoft, Okta… presets).
    Oidc,
    /// GitHub: OAuth 2 plus its user API (it has no ID token).
    Github,
    /// SAML 2.0 (the service provider side).
    Saml,
}

impl ConnectionKind {
    pub const ALL: [ConnectionKind; 3] = [Self::Oidc, Self::Github, Self::Saml];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Github => "github",
            Self::Saml => "saml",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An upstream identity provider the operator configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Short stable slug chosen by the operator (`google`, `acme-okta`); it
    /// appears in URLs (`/federation/{id}/callback`) and as `idp`.
    pub id: String,
    pub kind: ConnectionKind,
    /// What people see ("Continue with Acme").
    pub display_name: String,
    /// The preset it was made from (`google`, `microsoft`, `github`,
    /// `okta`…), if any.
    pub preset: Option<String>,
    /// Kind-specific settings with nothing secret in them (issuer, client
    /// id, scopes, endpoints; the SAML IdP metadata).
    pub config: serde_json::Value,
    /// The secrets (client secret, private_key_jwt key, SP key) as a JSON
    /// document sealed with the key-encryption key; never returned.
    pub secret_sealed: Option<Vec<u8>>,
    /// Lower-cased email domains this upstream is trusted for: a verified
    /// email in one of them may link to an existing local account.
    pub trusted_email_domains: Vec<String>,
    /// Offered as a button on the sign-in page.
    pub show_on_login: bool,
    /// A disabled connection signs nobody in.
    pub disabled: bool,
    pub created_at: UnixTime,
}

impl Connection {
    /// Whether `email`'s domain is one this connection is trusted for.
    pub fn trusts_email_domain(&self, email: &str) -> bool {
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_lowercase();
        !domain.is_empty()
            && self
                .trusted_email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&domain))
    }
}

/// What an upstream last said about a linked person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A link from an upstream subject to a local person: the person signs in
/// as `user_id` whenever `(connection_id, subject)` comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    pub connection_id: String,
    /// The upstream's stable subject (OIDC `sub`, GitHub id, SAML NameID).
    pub subject: String,
    pub user_id: String,
    pub claims: IdentityClaims,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
}

/// Whether `id` is a usable connection id: 1 to 64 of `a-z 0-9 - _`,
/// starting with a letter or digit (it goes into URL paths unescaped).
pub fn valid_connection_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(domains: &[&str]) -> Connection {
        Connection {
            id: "c".into(),
            kind: ConnectionKind::Oidc,
            display_name: "C".into(),
            preset: None,
            config: serde_json::Value::Null,
            secret_sealed: None,
            trusted_email_domains: domains.iter().map(|s| s.to_string()).collect(),
            show_on_login: false,
            disabled: false,
            created_at: 0,
        }
    }

    #[test]
    fn trusted_domains_match_the_whole_domain_only() {
        let c = conn(&["example.com"]);
        assert!(c.trusts_email_domain("a@example.com"));
        assert!(c.trusts_email_domain("a@EXAMPLE.com"));
        assert!(!c.trusts_email_domain("a@evil-example.com"));
        assert!(!c.trusts_email_domain("a@sub.example.com"));
        assert!(!c.trusts_email_domain("a@example.com.evil"));
        assert!(!c.trusts_email_domain("example.com"));
        assert!(!conn(&[]).trusts_email_domain("a@example.com"));
    }

    #[test]
    fn connection_ids_are_url_safe_slugs() {
        assert!(valid_connection_id("acme-okta"));
        assert!(valid_connection_id("g1"));
        for bad in ["", "-x", "A", "a/b", "a b", "a.b", &"x".repeat(65)] {
            assert!(!valid_connection_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in ConnectionKind::ALL {
            assert_eq!(ConnectionKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ConnectionKind::parse("ldap"), None);
    }
}
