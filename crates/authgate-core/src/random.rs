//! Randomness is passed in (tests may use a seeded or failing source).
//!
//! Drawing random bytes can fail (no entropy source, a sandbox that blocks
//! `getrandom`, a broken DRBG). Nothing that needs a fresh secret can be
//! issued then, so every caller gets a [`RandomError`] and refuses the one
//! request with `server_error` instead of panicking the worker.

use crate::error::OAuthError;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub trait Random: Send + Sync + 'static {
    /// Fills `dest` with random bytes, or fails without issuing anything.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The random generator failed; `dest` must not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the random number generator failed")]
pub struct RandomError;

/// Every request that needs randomness ends here when the generator fails:
/// one error line in the log (the operator must fix the host), and
/// `server_error` to the client (there is nothing it did wrong).
impl From<RandomError> for OAuthError {
    fn from(e: RandomError) -> Self {
        tracing::error!(error = %e, "random number generator failure; request refused");
        OAuthError::server_error("the server could not complete the request; try again")
    }
}

/// The operating system's CSPRNG through aws-lc.
#[derive(Debug, Default, Clone)]
pub struct OsRandom(SystemRandom);

impl OsRandom {
    pub fn new() -> Self {
        Self(SystemRandom::new())
    }
}

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.0.fill(dest).map_err(|_| RandomError)
    }
}
