//! SAML 2.0 service provider (issue #19 part 6), no HTTP in it:
//!
//! - [`SamlSp::metadata_xml`]: the SP's `EntityDescriptor` (samael's
//!   metadata types): entity id `{issuer}/saml/{connection}` (also the
//!   metadata URL), the ACS `{issuer}/saml/{connection}/acs` (HTTP-POST),
//!   the NameID formats taken, `WantAssertionsSigned`;
//! - [`begin`]: an AuthnRequest (samael; HTTP-Redirect binding, unsigned:
//!   the IdP sends its answer only to the ACS registered for our entity
//!   id, and we accept only an answer to this request) with a random ID
//!   and an opaque random RelayState, both kept in the browser's pending
//!   flow (never a return URL in RelayState);
//! - [`finish`]: the flow found by RelayState is spent once; the response
//!   is verified ([`SamlSp::validate`]: InResponseTo = the flow's request
//!   ID, Issuer, Destination/Recipient, Audience, NotBefore/NotOnOrAfter
//!   with 2 minutes of skew, SHA-256+ signatures only) and the assertion
//!   ID goes to the replay cache (the store's single-use nonce table)
//!   until it expires; attributes map to email/name/groups
//!   ([`AttributeMap`]), emails count as verified only in the
//!   connection's trusted domains, in the verified domains of an
//!   organization whose own IdP it is, or with `trust_email`.
//!
//! Signature checks, canonicalization and the reduction of a response to
//! the signed element are samael's, backed by libxmlsec1: nothing here
//! parses or verifies XML signatures by hand. After verification samael
//! hands back ONLY the xmlsec-verified element (`ReduceMode::
//! ValidateAndMarkNoAncestors`), so an unsigned "evil" assertion placed
//! next to a moved signed one (XML signature wrapping) is never read.

mod config;
mod flow;
mod sp;

pub use config::{AttributeMap, SamlConnectionConfig};
pub use flow::{begin, finish, sp_of};
pub use sp::{MAX_RESPONSE_BYTES, SamlError, SamlSp, acs_url, sp_entity_id};

#[cfg(test)]
mod tests;
