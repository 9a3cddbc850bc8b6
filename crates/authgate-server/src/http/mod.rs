//! HTTP plumbing shared by endpoints and pages: error mapping, form
//! parsing, cache headers, client authentication and client addresses.

pub mod cache;
pub mod client_address;
pub mod client_auth;
pub mod error;
pub mod form;
