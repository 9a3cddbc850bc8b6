//! Signing people in through upstream identity providers (OpenID Connect,
//! OAuth 2 social providers, SAML 2.0): each protocol turns a successful
//! upstream sign-in into one [`identity::UpstreamIdentity`], and one
//! linking rule ([`link::sign_in_upstream`]) turns that into a local person.

pub mod identity;
pub mod link;
pub mod manage;
pub mod oidc;
pub mod presets;
pub mod saml;
