//! Protocol logic of authgate, with no HTTP and no SQL.
//!
//! Everything here is deterministic given a [`clock::Clock`] and a
//! [`random::Random`], so expiry and rotation rules are unit-testable.

pub mod authorize;
pub mod claims;
pub mod clock;
pub mod connection;
pub mod crypto_box;
pub mod error;
pub mod model;
pub mod org;
pub mod pkce;
pub mod random;
pub mod redirect_uri;
pub mod refresh;
pub mod resource_uri;
pub mod scope;
pub mod secret;
pub mod signing;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};
