//! Integration tests: a stand-in authorization server on 127.0.0.1, tokens
//! signed here, the validator and the HTTP layers exercised for real.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod jwks;
mod mcp;
mod middleware;
mod validation;

use authgate_resource::testing::TestAuthorizationServer;
use authgate_resource::{InvalidReason, ValidationError, Validator, ValidatorBuilder};

/// The resource the validator-only tests protect (nothing listens there).
pub const RESOURCE: &str = "http://127.0.0.1:3000/mcp";

pub fn builder(auth: &TestAuthorizationServer) -> ValidatorBuilder {
    Validator::builder(auth.issuer(), RESOURCE).scope_implies("weather:write", ["weather:read"])
}

pub fn invalid(r: InvalidReason) -> ValidationError {
    ValidationError::InvalidToken(r)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
