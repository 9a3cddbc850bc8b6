//! ES256 (ECDSA P-256 with SHA-256) signing through AWS-LC's C API.
//!
//! Why this exists: every access token costs one ES256 signature, and the
//! signature is most of a token's CPU. aws-lc-rs's safe `EcdsaKeyPair::sign`
//! wraps the same AWS-LC `ECDSA_do_sign` in a generic EVP layer that, per
//! signature, sets up and copies EVP contexts, DER-encodes the signature and
//! parses it back to the fixed `r || s` form, and zeroes and copies a 4.6 KB
//! `Signature` buffer (sized for post-quantum algorithms). Counted with
//! callgrind that was ~17,000 instructions a signature on top of ECDSA
//! itself. Here the key is held as an AWS-LC `EC_KEY` and signed directly:
//! same library, same constant-time code, same nonce generation.
//!
//! Signatures are made from nonces prepared in batches (`es256_presign`),
//! with `ECDSA_do_sign` as the fallback.
//!
//! This file and `es256_presign` hold the only `unsafe` in authgate-core.
//! Every pointer is checked for NULL and owned by exactly one `Es256Key`; the
//! key is never mutated after construction.

use crate::es256_presign::Presigner;
use aws_lc_sys as ffi;
use std::ptr::NonNull;

/// A P-256 private key held by AWS-LC.
pub(crate) struct Es256Key {
    // Declared first so it drops first: it points into `key`'s group.
    presigner: Presigner,
    key: OwnedEcKey,
}

// SAFETY: the EC_KEY is owned by this value, never mutated after
// construction, and only passed to functions taking `const EC_KEY *`
// (`ECDSA_do_sign`), which AWS-LC documents as safe to call concurrently on a
// shared key (aws-lc-rs shares its own EC keys across threads the same way).
unsafe impl Send for Es256Key {}
unsafe impl Sync for Es256Key {}

impl Es256Key {
    /// Parses a PKCS#8 `PrivateKeyInfo` holding a P-256 key. `None` for
    /// anything else (another curve, another key type, bad DER).
    pub(crate) fn from_pkcs8(der: &[u8]) -> Option<Self> {
        // SAFETY: CBS_init only records the pointer and length of `der`,
        // which outlives the parse. EVP_parse_private_key returns an owned
        // EVP_PKEY or NULL; EVP_PKEY_get1_EC_KEY returns a new reference (or
        // NULL), so freeing the EVP_PKEY afterwards leaves our EC_KEY valid.
        unsafe {
            let mut cbs = std::mem::MaybeUninit::<ffi::CBS>::uninit();
            ffi::CBS_init(cbs.as_mut_ptr(), der.as_ptr(), der.len());
            let pkey = ffi::EVP_parse_private_key(cbs.as_mut_ptr());
            if pkey.is_null() {
                return None;
            }
            // Trailing bytes after the key are not a valid PKCS#8 document.
            let trailing = ffi::CBS_len(cbs.as_ptr()) != 0;
            let ec = ffi::EVP_PKEY_get1_EC_KEY(pkey);
            ffi::EVP_PKEY_free(pkey);
            let key = OwnedEcKey(NonNull::new(ec)?);
            if trailing {
                return None;
            }
            // Checks the curve and the private key; holds a pointer to the
            // key's group, which `key` keeps alive.
            let presigner = Presigner::for_key(key.0.as_ptr())?;
            Some(Self { key, presigner })
        }
    }

    /// Signs `msg` (hashed here with SHA-256): the JWS `r || s` form, 64 bytes.
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg);
        let digest: &[u8; 32] = digest.as_ref().try_into().expect("SHA-256 is 32 bytes");
        if let Some(signature) = self.presigner.sign_digest(digest) {
            return signature;
        }
        self.sign_one(digest)
    }

    /// AWS-LC's own one-at-a-time signer: the fallback, and the reference the
    /// tests compare with.
    pub(crate) fn sign_one(&self, digest: &[u8; 32]) -> [u8; 64] {
        let mut out = [0u8; 64];
        // SAFETY: `digest` and `out` are live buffers of the lengths passed.
        // ECDSA_do_sign returns an owned ECDSA_SIG or NULL; its r and s are
        // borrowed only until ECDSA_SIG_free, which runs after both are
        // written out.
        let ok = unsafe {
            let sig = ffi::ECDSA_do_sign(digest.as_ptr(), digest.len(), self.key.0.as_ptr());
            if sig.is_null() {
                false
            } else {
                let mut r = std::ptr::null();
                let mut s = std::ptr::null();
                ffi::ECDSA_SIG_get0(sig, &mut r, &mut s);
                let ok = ffi::BN_bn2bin_padded(out.as_mut_ptr(), 32, r) == 1
                    && ffi::BN_bn2bin_padded(out.as_mut_ptr().add(32), 32, s) == 1;
                ffi::ECDSA_SIG_free(sig);
                ok
            }
        };
        // Fails only on allocation failure or a corrupted key: there is no
        // token to return without a signature.
        assert!(ok, "ECDSA P-256 signing failed");
        out
    }
}

/// An owned EC_KEY reference (from EVP_PKEY_get1_EC_KEY), freed once on
/// drop; EC_KEY_free also clears the private scalar.
struct OwnedEcKey(NonNull<ffi::EC_KEY>);

impl Drop for OwnedEcKey {
    fn drop(&mut self) {
        // SAFETY: an owned reference, freed once.
        unsafe { ffi::EC_KEY_free(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};

    fn p256_pkcs8() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap()
        .as_ref()
        .to_vec()
    }

    /// A fresh P-256 key: its PKCS#8 bytes and aws-lc-rs's verifier for it.
    fn key_and_verifier() -> (Vec<u8>, UnparsedPublicKey<Vec<u8>>) {
        let der = p256_pkcs8();
        let safe =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
        let public = UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            safe.public_key().as_ref().to_vec(),
        );
        (der, public)
    }

    #[test]
    fn signatures_verify_with_aws_lc_rs_and_differ_each_time() {
        let (der, public) = key_and_verifier();
        let raw = Es256Key::from_pkcs8(&der).unwrap();
        let msg = b"header.payload";
        let a = raw.sign(msg);
        let b = raw.sign(msg);
        public.verify(msg, &a).unwrap();
        public.verify(msg, &b).unwrap();
        // A fresh nonce per signature: a repeated one would leak the key.
        assert_ne!(a, b);
        assert!(public.verify(b"header.other", &a).is_err());
    }

    #[test]
    fn shared_across_threads() {
        let (der, public) = key_and_verifier();
        let raw = std::sync::Arc::new(Es256Key::from_pkcs8(&der).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let raw = raw.clone();
                std::thread::spawn(move || {
                    (0..200)
                        .map(|n| {
                            let msg = format!("{i}.{n}");
                            (msg.clone(), raw.sign(msg.as_bytes()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (msg, sig) in h.join().unwrap() {
                public.verify(msg.as_bytes(), &sig).unwrap();
            }
        }
    }

    /// AWS-LC's own signer with a chosen nonce: `r || s`.
    fn aws_lc_with_nonce(raw: &Es256Key, digest: &[u8; 32], nonce: &[u8; 32]) -> [u8; 64] {
        let mut out = [0u8; 64];
        // SAFETY: live buffers of the lengths passed; the ECDSA_SIG is freed
        // after r and s are copied out.
        unsafe {
            let sig = ffi::ECDSA_sign_with_nonce_and_leak_private_key_for_testing(
                digest.as_ptr(),
                32,
                raw.key.0.as_ptr(),
                nonce.as_ptr(),
                32,
            );
            assert!(!sig.is_null());
            let (mut r, mut s) = (std::ptr::null(), std::ptr::null());
            ffi::ECDSA_SIG_get0(sig, &mut r, &mut s);
            assert_eq!(ffi::BN_bn2bin_padded(out.as_mut_ptr(), 32, r), 1);
            assert_eq!(ffi::BN_bn2bin_padded(out.as_mut_ptr().add(32), 32, s), 1);
            ffi::ECDSA_SIG_free(sig);
        }
        out
    }

    fn random_32() -> [u8; 32] {
        let mut b = [0u8; 32];
        aws_lc_rs::rand::fill(&mut b).unwrap();
        b
    }

    #[test]
    fn batch_prepared_signatures_equal_aws_lc_own_for_the_same_nonce() {
        let (der, public) = key_and_verifier();
        let raw = Es256Key::from_pkcs8(&der).unwrap();
        // A batch of 33 nonces (more than a production batch), each
        // used for a different message.
        let nonce_bytes: Vec<[u8; 32]> = (0..33)
            .map(|i| {
                let mut n = random_32();
                n[0] &= 0x7f; // below the order
                if i == 3 {
                    n = [0; 32];
                    n[31] = 1; // k = 1: r is the generator's x
                }
                n
            })
            .collect();
        let nonces: Vec<_> = nonce_bytes
            .iter()
            .map(|n| raw.presigner.nonce_from_bytes(n).unwrap())
            .collect();
        let prepared = raw.presigner.prepare(&nonces).unwrap();
        assert_eq!(prepared.len(), 33);
        for (i, (presig, nonce)) in prepared.iter().zip(&nonce_bytes).enumerate() {
            let msg = format!("header.payload-{i}");
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg.as_bytes());
            let digest: &[u8; 32] = digest.as_ref().try_into().unwrap();
            let ours = raw.presigner.finish(presig, digest).unwrap();
            assert_eq!(ours, aws_lc_with_nonce(&raw, digest, nonce), "nonce {i}");
            public.verify(msg.as_bytes(), &ours).unwrap();
        }
        // A digest at or above the order is reduced as AWS-LC reduces it.
        let high = [0xffu8; 32];
        let ours = raw.presigner.finish(&prepared[0], &high).unwrap();
        assert_eq!(ours, aws_lc_with_nonce(&raw, &high, &nonce_bytes[0]));
    }

    #[test]
    fn nonces_are_never_reused_across_batches_and_threads() {
        let (der, public) = key_and_verifier();
        let raw = std::sync::Arc::new(Es256Key::from_pkcs8(&der).unwrap());
        // Several batches on each of 4 threads, racing to refill.
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let raw = raw.clone();
                std::thread::spawn(move || {
                    (0..300)
                        .map(|n| {
                            let msg = format!("{t}.{n}");
                            (msg.clone(), raw.sign(msg.as_bytes()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut rs = std::collections::HashSet::new();
        for h in handles {
            for (msg, sig) in h.join().unwrap() {
                public.verify(msg.as_bytes(), &sig).unwrap();
                // The same r twice means the same nonce twice.
                assert!(rs.insert(sig[..32].to_vec()), "a nonce was used twice");
            }
        }
        assert_eq!(rs.len(), 1200);
        assert!(raw.presigner.pooled() <= 64);
    }

    #[test]
    fn one_batch_serves_thirty_two_signatures() {
        let (der, public) = key_and_verifier();
        let raw = Es256Key::from_pkcs8(&der).unwrap();
        assert_eq!(raw.presigner.pooled(), 0);
        public.verify(b"a", &raw.sign(b"a")).unwrap();
        assert_eq!(raw.presigner.pooled(), 31);
        for _ in 0..31 {
            raw.sign(b"b");
        }
        assert_eq!(raw.presigner.pooled(), 0);
        public.verify(b"c", &raw.sign(b"c")).unwrap();
        assert_eq!(raw.presigner.pooled(), 31);
        // The one-at-a-time fallback signs too.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"d");
        public
            .verify(b"d", &raw.sign_one(digest.as_ref().try_into().unwrap()))
            .unwrap();
    }

    #[test]
    fn refuses_other_keys_and_garbage() {
        let ed =
            aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        assert!(Es256Key::from_pkcs8(ed.as_ref()).is_none());
        let p384 = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        assert!(Es256Key::from_pkcs8(p384.as_ref()).is_none());
        assert!(Es256Key::from_pkcs8(b"").is_none());
        assert!(Es256Key::from_pkcs8(b"\x30\x03\x02\x01\x00").is_none());
        let mut trailing = p256_pkcs8();
        trailing.push(0);
        assert!(Es256Key::from_pkcs8(&trailing).is_none());
    }
}
