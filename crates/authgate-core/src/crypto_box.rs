//! Encryption at rest for signing keys: AES-256-GCM under the operator's
//! key-encryption key (KEK). Sealed form: 12-byte nonce || ciphertext || tag.

use crate::random::Random;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoBoxError {
    #[error("key-encryption key must be exactly 32 bytes")]
    BadKeyLength,
    #[error("sealed data could not be opened (wrong key-encryption key or corrupted data)")]
    Open,
    /// No nonce could be drawn (the random generator failed) or the cipher
    /// refused: nothing was sealed.
    #[error("data could not be sealed (random number generator or cipher failure)")]
    Seal,
}

/// The key-encryption key. Its bytes never leave this type.
pub struct Kek {
    key: LessSafeKey,
    /// Subkey for deterministic refresh-token successors.
    refresh_successor_key: Vec<u8>,
    /// Subkey that signs browser pre-session cookies (the state of a
    /// visitor who has not signed in, kept in the browser, not the store).
    cookie_key: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoBoxError> {
        if bytes.len() != 32 {
            return Err(CryptoBoxError::BadKeyLength);
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoBoxError::BadKeyLength)?;
        // Domain-separated subkey so the AEAD key is never used as an HMAC key.
        let hk = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes);
        let sub = aws_lc_rs::hmac::sign(&hk, b"authgate refresh-token successor v1");
        let cookie = aws_lc_rs::hmac::sign(&hk, b"authgate pre-session cookie v1");
        Ok(Self {
            key: LessSafeKey::new(unbound),
            refresh_successor_key: sub.as_ref().to_vec(),
            cookie_key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, cookie.as_ref()),
        })
    }

    pub fn seal(
        &self,
        rng: &dyn Random,
        plaintext: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, CryptoBoxError> {
        // A nonce that is not fresh would break AES-GCM, so a failed draw
        // seals nothing.
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce).map_err(|_| CryptoBoxError::Seal)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| CryptoBoxError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoBoxError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoBoxError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoBoxError::Open)?;
        let mut buf = ct.to_vec();
        let pt = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| CryptoBoxError::Open)?;
        Ok(pt.to_vec())
    }

    pub fn refresh_successor_key(&self) -> &[u8] {
        &self.refresh_successor_key
    }

    /// HMAC-SHA256 of `msg` under the pre-session cookie subkey.
    pub fn sign_cookie(&self, msg: &[u8]) -> Vec<u8> {
        aws_lc_rs::hmac::sign(&self.cookie_key, msg)
            .as_ref()
            .to_vec()
    }

    /// Whether `tag` is [`Kek::sign_cookie`] of `msg` (constant time).
    pub fn verify_cookie(&self, msg: &[u8], tag: &[u8]) -> bool {
        aws_lc_rs::hmac::verify(&self.cookie_key, msg, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn roundtrip_and_tamper() {
        let r = OsRandom::new();
        let k = Kek::from_bytes(&[7u8; 32]).unwrap();
        let s = k.seal(&r, b"secret", b"kid1").unwrap();
        assert_eq!(k.open(&s, b"kid1").unwrap(), b"secret");
        assert!(k.open(&s, b"kid2").is_err());
        let mut t = s.clone();
        t[20] ^= 1;
        assert!(k.open(&t, b"kid1").is_err());
        let other = Kek::from_bytes(&[8u8; 32]).unwrap();
        assert!(other.open(&s, b"kid1").is_err());
        assert!(Kek::from_bytes(&[1u8; 31]).is_err());
    }

    #[test]
    fn cookie_tags_verify_only_unchanged_under_the_same_key() {
        let k = Kek::from_bytes(&[7u8; 32]).unwrap();
        let tag = k.sign_cookie(b"payload");
        assert_eq!(tag.len(), 32);
        assert!(k.verify_cookie(b"payload", &tag));
        assert!(!k.verify_cookie(b"payload!", &tag));
        assert!(!k.verify_cookie(b"payload", &tag[..31]));
        let other = Kek::from_bytes(&[8u8; 32]).unwrap();
        assert!(!other.verify_cookie(b"payload", &tag));
        // A subkey of its own: not the refresh successor key.
        assert_ne!(tag, {
            let hk =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, k.refresh_successor_key());
            aws_lc_rs::hmac::sign(&hk, b"payload").as_ref().to_vec()
        });
    }

    #[test]
    fn a_failing_generator_seals_nothing() {
        struct Broken;
        impl Random for Broken {
            fn fill(&self, _: &mut [u8]) -> Result<(), crate::random::RandomError> {
                Err(crate::random::RandomError)
            }
        }
        let k = Kek::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(
            k.seal(&Broken, b"secret", b"kid1"),
            Err(CryptoBoxError::Seal)
        );
    }
}
