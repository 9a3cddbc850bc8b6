//! Password hashing with Argon2id. Hashing runs on the blocking pool behind
//! a semaphore, so a flood of sign-ins cannot take every core from the
//! token endpoint.
//!
//! Each check needs 19 MiB of Argon2 memory. Allocating and freeing that per
//! check leaves the freed buffers in the allocator's per-thread arenas, so a
//! burst of sign-ins used to raise the resident size by hundreds of MiB for
//! good. [`PasswordChecker`] instead keeps one block buffer per permit
//! (allocated on first use, then reused), which bounds the memory to about
//! `password_hash_concurrency` × 19 MiB.

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use authgate_core::random::{Random, RandomError};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// OWASP-recommended Argon2id parameters (19 MiB, 2 passes, 1 lane).
/// Checked when compiling: invalid parameters fail the build, never a
/// sign-in.
const PARAMS: Params = match Params::new(19 * 1024, 2, 1, None) {
    Ok(p) => p,
    Err(_) => panic!("invalid Argon2 parameters"),
};

fn params() -> Params {
    PARAMS
}

/// Why a password could not be hashed. Neither happens in practice; the
/// caller refuses the request (or the command) instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: no salt: {0}")]
    NoSalt(#[from] RandomError),
    /// Argon2 refused its input (only a password over 4 GiB, far above
    /// the request size cap) or the PHC string could not be encoded.
    #[error("password hashing failed: {0}")]
    Argon2(String),
}

fn argon() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// A hash of a random password nobody knows (generated once, the password
/// discarded), with the same parameters as [`argon()`]. It is verified
/// against when the account does not exist, only so that unknown accounts
/// take as long as known ones; [`PasswordChecker::verify`] returns false for
/// unknown accounts whatever this check says. Being public costs nothing:
/// the salt and hash protect no account. A constant (rather than hashing at
/// start-up) saves tens of milliseconds of start-up time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ajtXo2BOuj3hzNhLTh+ULQ$KbilxC8kn/l6s6M4Gi1Go8YVlRU//W/UUZeqvn6fyig";

/// A zeroed Argon2 block buffer big enough for [`argon()`].
fn new_blocks() -> Vec<Block> {
    vec![Block::default(); params().block_count()]
}

/// Hashes with a fresh salt into a PHC string (`$argon2id$v=19$m=19456,…`).
/// Fails when no salt can be drawn (see [`HashError`]).
pub fn hash_password(password: &str, rng: &dyn Random) -> Result<String, HashError> {
    hash_password_with_memory(password, rng, &mut new_blocks())
}

/// Verifies `password` against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_with_memory(password, phc, &mut new_blocks())
}

/// [`hash_password`] using `blocks` as Argon2's memory (it must hold at
/// least `params().block_count()` blocks). The PHC string is the one
/// `PasswordHasher::hash_password_with_salt` produces.
fn hash_password_with_memory(
    password: &str,
    rng: &dyn Random,
    blocks: &mut [Block],
) -> Result<String, HashError> {
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    rng.fill(&mut salt)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2_failed = |e: &dyn std::fmt::Display| HashError::Argon2(e.to_string());
    // Fails only for a buffer that is too small or a password over 4 GiB
    // (requests are capped far below that).
    argon()
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
        .map_err(|e| argon2_failed(&e))?;
    Ok(PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| argon2_failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| argon2_failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| argon2_failed(&e))?),
    }
    .to_string())
}

/// [`verify_password`] using `blocks` as Argon2's memory when the stored
/// hash is Argon2id v19 and its memory cost fits; anything else (older
/// versions, other variants, larger costs) takes argon2's own allocating
/// path.
fn verify_password_with_memory(password: &str, phc: &str, blocks: &mut [Block]) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    // Takes the output length from the stored hash as well.
    let Ok(stored_params) = Params::try_from(&stored) else {
        return false;
    };
    let pooled = stored.algorithm == ARGON2ID_IDENT
        && stored.version == Some(Version::V0x13.into())
        && stored_params.block_count() <= blocks.len();
    if !pooled {
        return argon()
            .verify_password(password.as_bytes(), &stored)
            .is_ok();
    }
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let computed = Argon2::new(Algorithm::Argon2id, Version::V0x13, stored_params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks);
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

/// Argon2 block buffers reused across checks, at most one per permit.
struct BlockPool {
    free: Mutex<Vec<Vec<Block>>>,
    capacity: usize,
}

impl BlockPool {
    fn new(capacity: usize) -> Self {
        Self {
            free: Mutex::new(Vec::with_capacity(capacity)),
            capacity,
        }
    }

    /// Runs `f` with a buffer from the pool (a new one the first times).
    /// Call it on the blocking pool: it may allocate and fill 19 MiB.
    fn with_blocks<T>(&self, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self.lock().pop();
        let mut blocks = taken.unwrap_or_else(new_blocks);
        let result = f(&mut blocks);
        let mut free = self.lock();
        if free.len() < self.capacity {
            free.push(blocks);
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        // A panic while holding the lock leaves the list itself intact.
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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
    /// One Argon2 memory buffer per permit, so the memory stays bounded.
    blocks: Arc<BlockPool>,
}

impl PasswordChecker {
    pub fn new(concurrency: usize) -> Self {
        let permits = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            blocks: Arc::new(BlockPool::new(permits)),
        }
    }

    /// Verifies `password` against `phc`, or against a dummy hash when
    /// there is no account (returns false then).
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = phc.is_some();
        let blocks = self.blocks.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let hash = phc.as_deref().unwrap_or(DUMMY_HASH);
            blocks.with_blocks(|b| verify_password_with_memory(&password, hash, b))
        })
        .await
        .unwrap_or(false);
        ok && known
    }

    /// The PHC string, or `""` when hashing failed (callers refuse then).
    pub async fn hash(&self, password: String, rng: Arc<dyn Random>) -> String {
        let _permit = self.permits.acquire().await;
        let blocks = self.blocks.clone();
        let hashed = tokio::task::spawn_blocking(move || {
            blocks.with_blocks(|b| hash_password_with_memory(&password, rng.as_ref(), b))
        })
        .await;
        match hashed {
            Ok(Ok(phc)) => phc,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "password hashing failed");
                String::new()
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;
    use authgate_core::random::OsRandom;

    /// What `hash_password` did before the pooled memory: argon2's own
    /// allocating path.
    fn old_hash(password: &str, rng: &dyn Random) -> String {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt).unwrap();
        argon()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn old_verify(password: &str, phc: &str) -> bool {
        argon().verify_password(password.as_bytes(), phc).is_ok()
    }

    #[test]
    fn hash_and_verify() {
        let r = OsRandom::new();
        let h = hash_password("correct horse", &r).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password("x", ""));
        assert!(!verify_password(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"
        ));
    }

    #[test]
    fn pooled_hashes_are_compatible_with_the_allocating_path() {
        let r = OsRandom::new();
        let mut blocks = new_blocks();
        // Old hash, new verification (with a reused, dirty buffer).
        let old = old_hash("correct horse", &r);
        assert!(verify_password_with_memory(
            "correct horse",
            &old,
            &mut blocks
        ));
        assert!(!verify_password_with_memory(
            "wrong horse",
            &old,
            &mut blocks
        ));
        assert!(verify_password_with_memory(
            "correct horse",
            &old,
            &mut blocks
        ));
        // New hash, old verification.
        let new = hash_password_with_memory("correct horse", &r, &mut blocks).unwrap();
        assert!(old_verify("correct horse", &new));
        assert!(!old_verify("wrong horse", &new));
        // Same salt, same bytes: the PHC strings are identical.
        struct Fixed;
        impl Random for Fixed {
            fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
                dest.fill(7);
                Ok(())
            }
        }
        assert_eq!(
            hash_password_with_memory("pw", &Fixed, &mut blocks).unwrap(),
            old_hash("pw", &Fixed)
        );
        // No salt, no hash (and no panic).
        struct Broken;
        impl Random for Broken {
            fn fill(&self, _: &mut [u8]) -> Result<(), RandomError> {
                Err(RandomError)
            }
        }
        assert_eq!(
            hash_password("pw", &Broken),
            Err(HashError::NoSalt(RandomError))
        );
    }

    #[test]
    fn other_parameters_verify_pooled_or_through_the_allocating_path() {
        let r = OsRandom::new();
        let mut blocks = new_blocks();
        let mut salt = [0u8; 16];
        r.fill(&mut salt).unwrap();
        let variants = [
            // More memory than the pooled buffer holds.
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(32 * 1024, 1, 1, None).unwrap(),
            ),
            // Another variant, an older version.
            Argon2::new(Algorithm::Argon2i, Version::V0x13, params()),
            Argon2::new(Algorithm::Argon2id, Version::V0x10, params()),
            // Pooled, but with other costs, two lanes and a longer output.
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(8 * 1024, 1, 2, Some(64)).unwrap(),
            ),
        ];
        for a in variants {
            let h = a
                .hash_password_with_salt(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(
                verify_password_with_memory("correct horse", &h, &mut blocks),
                "{h}"
            );
            assert!(
                !verify_password_with_memory("wrong horse", &h, &mut blocks),
                "{h}"
            );
        }
        // Without a buffer everything takes the allocating path.
        let h = hash_password("correct horse", &r).unwrap();
        assert!(verify_password_with_memory("correct horse", &h, &mut []));
        assert!(!verify_password_with_memory("wrong horse", &h, &mut []));
    }

    #[test]
    fn dummy_hash_has_the_current_parameters() {
        let h = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(h.algorithm, ARGON2ID_IDENT);
        assert_eq!(h.version, Some(Version::V0x13.into()));
        let p = Params::try_from(&h).unwrap();
        let ours = params();
        assert_eq!(
            (p.m_cost(), p.t_cost(), p.p_cost()),
            (ours.m_cost(), ours.t_cost(), ours.p_cost())
        );
        assert_eq!(h.salt.unwrap().len(), argon2::RECOMMENDED_SALT_LEN);
        assert_eq!(h.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert_eq!(h.params, ParamsString::try_from(&ours).unwrap());
    }

    #[tokio::test]
    async fn checker_verifies_hashes_and_refuses_unknown_accounts() {
        let checker = PasswordChecker::new(2);
        let rng: Arc<dyn Random> = Arc::new(OsRandom::new());
        let h = checker.hash("correct horse".into(), rng).await;
        assert!(old_verify("correct horse", &h));
        assert!(
            checker
                .verify("correct horse".into(), Some(h.clone()))
                .await
        );
        assert!(!checker.verify("wrong horse".into(), Some(h)).await);
        assert!(!checker.verify("correct horse".into(), None).await);
        assert!(checker.blocks.lock().len() <= 2);
    }
}
