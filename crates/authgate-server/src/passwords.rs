//! Password hashing with Argon2id. Hashing runs on the blocking pool behind
//! a semaphore, so a flood of sign-ins cannot take every core from the
//! token endpoint.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use authgate_core::random::Random;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP-recommended Argon2id parameters (19 MiB, 2 passes, 1 lane).
fn argon() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 params are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str, rng: &dyn Random) -> String {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    argon()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid params and salt")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    argon().verify_password(password.as_bytes(), phc).is_ok()
}

/// Password rules shown to people: long enough, not absurdly long.
pub fn check_password_policy(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        return Err("the password must have at least 8 characters");
    }
    if password.len() > 1024 {
        return Err("the password must have at most 1024 bytes");
    }
    Ok(())
}

/// Bounded password checking for request handlers.
#[derive(Clone)]
pub struct PasswordChecker {
    permits: Arc<Semaphore>,
    /// A real hash to verify against when the account does not exist, so
    /// unknown accounts take as long as known ones.
    dummy_hash: Arc<String>,
}

impl PasswordChecker {
    pub fn new(concurrency: usize, rng: &dyn Random) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(hash_password("authgate-dummy-password", rng)),
        }
    }

    /// Verifies `password` against `phc`, or against a dummy hash when
    /// there is no account (returns false then).
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = phc.is_some();
        let hash = phc.unwrap_or_else(|| (*self.dummy_hash).clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        ok && known
    }

    pub async fn hash(&self, password: String, rng: Arc<dyn Random>) -> String {
        let _permit = self.permits.acquire().await;
        tokio::task::spawn_blocking(move || hash_password(&password, rng.as_ref()))
            .await
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate_core::random::OsRandom;

    #[test]
    fn hash_and_verify() {
        let r = OsRandom::new();
        let h = hash_password("correct horse", &r);
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a phc string"));
    }
}
