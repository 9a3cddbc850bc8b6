//! One module per grant type. Each takes an authenticated client and the
//! parsed request and returns a token response or an OAuth error.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
pub mod resource;
