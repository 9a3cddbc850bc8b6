//! Dynamic client registration (RFC 7591/7592): the per-process guard
//! (rate limiter, initial access tokens, the live-client count), the
//! de-duplication fingerprint, what registration does (`operations`) and
//! the reaping of unused clients. The endpoint is `authgate-server`'s
//! `endpoints::register`.

pub mod fingerprint;
pub mod guard;
pub mod limits;
pub mod operations;
pub mod reaping;

pub use fingerprint::fingerprint;
pub use guard::{LiveCount, RegistrationGuard};
pub use limits::{RateLimiter, RegistrationConfig, validate_config};
pub use reaping::reap_unused_clients;
