//! High-entropy secrets (authorization codes, refresh tokens, client
//! secrets, registration access tokens): generated from 256 random bits
//! and stored only as a SHA-256 hash. A fast hash is right here because the
//! input has full entropy; passwords use Argon2id elsewhere.

use crate::random::{Random, RandomError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// A fresh opaque secret: 32 random bytes, base64url without padding.
pub fn generate(rng: &dyn Random) -> Result<String, RandomError> {
    let mut buf = [0u8; 32];
    rng.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A short random identifier (128 bits), for ids that are not secrets.
pub fn generate_id(rng: &dyn Random) -> Result<String, RandomError> {
    let mut buf = [0u8; 16];
    rng.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The at-rest form of a high-entropy secret: hex SHA-256.
pub fn hash(secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    hex::encode(d.as_ref())
}

/// Checks a presented secret against its stored hash in constant time.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    let h = hash(presented);
    h.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Keyed derivation used for deterministic refresh-token successors (see
/// the `refresh` module): HMAC-SHA256(key, input), base64url.
pub fn derive(key: &[u8], input: &str) -> String {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&k, input.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn generated_secrets_are_distinct_and_urlsafe() {
        let r = OsRandom::new();
        let a = generate(&r).unwrap();
        let b = generate(&r).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    /// A generator that always fails.
    struct Broken;
    impl Random for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), RandomError> {
            Err(RandomError)
        }
    }

    #[test]
    fn a_failing_generator_is_an_error_not_a_panic() {
        assert_eq!(generate(&Broken), Err(RandomError));
        assert_eq!(generate_id(&Broken), Err(RandomError));
        let e = crate::OAuthError::from(RandomError);
        assert_eq!(e.code, crate::ErrorCode::ServerError);
    }

    #[test]
    fn verify_matches_only_the_same_secret() {
        let h = hash("abc");
        assert!(verify("abc", &h));
        assert!(!verify("abd", &h));
        assert!(!verify("", &h));
    }

    #[test]
    fn derive_is_deterministic_and_keyed() {
        assert_eq!(derive(b"k1", "x"), derive(b"k1", "x"));
        assert_ne!(derive(b"k1", "x"), derive(b"k2", "x"));
        assert_ne!(derive(b"k1", "x"), derive(b"k1", "y"));
    }
}
