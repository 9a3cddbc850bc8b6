//! What an upstream identity provider told us about a person, whatever the
//! protocol. Produced only after the upstream's answer was fully verified
//! (ID token or assertion signature, issuer, audience, nonce/InResponseTo,
//! time bounds).

use serde::{Deserialize, Serialize};

/// A verified upstream sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    /// The connection (upstream identity provider) it came through.
    pub connection_id: String,
    /// The upstream's stable subject: OIDC `sub` (scoped by its `iss`),
    /// GitHub's numeric user id, a SAML persistent `NameID`. The local
    /// link is by (connection, subject), never by email alone.
    pub subject: String,
    /// The upstream issuer or IdP entity id the subject belongs to.
    pub issuer: String,
    /// Lower-cased email, if the upstream gave one.
    pub email: Option<String>,
    /// Whether the upstream says it verified `email`.
    pub email_verified: bool,
    pub name: Option<String>,
    /// Group names the upstream asserted (OIDC `groups`, SAML attribute).
    pub groups: Vec<String>,
    /// RFC 8176 methods the upstream reported (`amr`), if any.
    pub amr: Vec<String>,
}
