//! In-process integration tests of the authorization server: one test
//! binary, a `TestApp` that starts the server on an ephemeral loopback port
//! with a temporary SQLite store.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod admin;
mod authorization_code;
mod authz;
mod browser;
mod cimd;
mod cli_errors;
mod client_credentials;
mod discovery;
mod federation;
mod http_limits;
mod id_tokens;
mod introspection_revocation;
mod keys;
mod mail;
mod malformed;
mod metrics;
mod mfa;
mod mfa_passkey;
mod no_writes;
mod orgs;
mod pages_i18n;
mod private_key_jwt;
mod processes;
mod registration;
mod saml;
mod sign_in_throttle;
mod signup;
mod soft_passkey;
