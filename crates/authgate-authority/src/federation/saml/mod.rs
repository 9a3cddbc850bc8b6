//! SAML 2.0 service provider (issue #19 part 6), no HTTP in it. So far
//! the response side only: verifying an IdP's response and mapping it to an
//! `UpstreamIdentity`; SP metadata, the AuthnRequest and the endpoints are
//! still to come.
//!
//! Signature checks, canonicalization and the reduction of a response to
//! the signed element are samael's, backed by libxmlsec1: nothing here
//! parses or verifies XML signatures by hand. After verification samael
//! hands back ONLY the xmlsec-verified element (`ReduceMode::
//! ValidateAndMarkNoAncestors`), so an unsigned "evil" assertion placed
//! next to a moved signed one (XML signature wrapping) is never read.

mod config;
mod sp;

pub use config::{AttributeMap, SamlConnectionConfig};
pub use sp::{SamlError, SamlSp, acs_url, sp_entity_id};

#[cfg(test)]
mod tests;
