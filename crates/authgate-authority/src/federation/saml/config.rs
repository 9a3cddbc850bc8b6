//! Per-connection SAML configuration; serde so it drops into
//! `Connection.config` for connections of kind `saml`.

use serde::{Deserialize, Serialize};

/// What an operator configures for one SAML identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlConnectionConfig {
    /// The IdP's entity id; the `Issuer` of its responses must equal it.
    pub idp_entity_id: String,
    /// The IdP's SingleSignOnService URL (HTTP-Redirect binding).
    pub sso_url: String,
    /// The IdP's signing certificates, PEM or bare base64 DER. At least
    /// one is required: without it nothing could be verified, and we
    /// never accept unsigned assertions.
    pub idp_certificates: Vec<String>,
    #[serde(default)]
    pub attributes: AttributeMap,
    /// A stable attribute to use as the subject when the IdP only sends
    /// transient NameIDs (e.g. an employee number). Without it a transient
    /// NameID is refused, since it cannot be linked to an account.
    #[serde(default)]
    pub subject_attribute: Option<String>,
    /// The operator trusts this IdP to assert email addresses (of the
    /// domains it manages); only then is `email_verified` true.
    #[serde(default)]
    pub trust_email: bool,
}

/// Attribute names looked up, in order, for each claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeMap {
    #[serde(default = "default_email")]
    pub email: Vec<String>,
    #[serde(default = "default_name")]
    pub name: Vec<String>,
    #[serde(default = "default_groups")]
    pub groups: Vec<String>,
}

impl Default for AttributeMap {
    fn default() -> Self {
        Self {
            email: default_email(),
            name: default_name(),
            groups: default_groups(),
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

// Common names across Okta, Entra ID, ADFS, Shibboleth and SimpleSAMLphp:
// LDAP short names, the eduPerson/LDAP OIDs, and Microsoft's claim URIs.
fn default_email() -> Vec<String> {
    strings(&[
        "email",
        "mail",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ])
}

fn default_name() -> Vec<String> {
    strings(&[
        "displayName",
        "name",
        "cn",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "urn:oid:2.5.4.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    ])
}

fn default_groups() -> Vec<String> {
    strings(&[
        "groups",
        "memberOf",
        "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    ])
}
