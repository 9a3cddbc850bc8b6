//! Integration tests of the gateway: a real token issuer (the
//! authgate-resource stand-in), the weather-mcp server as the upstream,
//! raw TCP upstreams for failures.

// Tests fail loudly on broken setup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod cors;
mod ops;
mod policy;
mod prompts;
mod support;
mod transport;
