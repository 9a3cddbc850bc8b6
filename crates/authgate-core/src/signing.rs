//! JWT signing with keys parsed once (ES256 default, RS256, EdDSA) and
//! verification of authgate's own tokens (for introspection).
//!
//! Tokens are assembled by hand: the header is pre-encoded per key, so
//! issuing a token costs one JSON serialization, one base64 pass and one
//! signature.

use crate::es256_raw::Es256Key;
use crate::model::SigningAlg;
use crate::random::Random;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a key")]
    Generate,
    #[error("stored private key is not valid PKCS#8 for {0}")]
    Parse(&'static str),
}

enum Inner {
    /// `raw` signs (see `es256_raw`); `public` is the uncompressed point
    /// (0x04 || X || Y), taken once from aws-lc-rs's parse of the same key,
    /// so the private key is held only once.
    Ec {
        raw: Es256Key,
        public: Box<[u8]>,
    },
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key, parsed once at start-up or rotation.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    inner: Inner,
    rng: SystemRandom,
    public_jwk: serde_json::Value,
    /// `base64url({alg, kid, typ})` for the two typs authgate issues, encoded
    /// once per key: (`at+jwt`, `JWT`).
    headers: [(&'static str, String); 2],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A newly generated key: the parsed key and its PKCS#8 bytes to seal.
pub struct GeneratedKey {
    pub key: SigningKey,
    pub pkcs8: Vec<u8>,
}

impl SigningKey {
    /// Generates a key with a random `kid`.
    pub fn generate(alg: SigningAlg, rng: &dyn Random) -> Result<GeneratedKey, KeyError> {
        let sys = SystemRandom::new();
        let pkcs8: Vec<u8> = match alg {
            SigningAlg::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &sys)
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
            SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8(&sys)
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
            SigningAlg::RS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generate)?;
                kp.as_der()
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
        };
        let kid = crate::secret::generate_id(rng);
        let key = Self::from_pkcs8(kid, alg, &pkcs8)?;
        Ok(GeneratedKey { key, pkcs8 })
    }

    pub fn from_pkcs8(kid: String, alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        let inner = match alg {
            SigningAlg::ES256 => {
                // aws-lc-rs's parse also checks that the public key in the
                // document matches the private one.
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(|_| KeyError::Parse("ES256"))?;
                Inner::Ec {
                    raw: Es256Key::from_pkcs8(der).ok_or(KeyError::Parse("ES256"))?,
                    public: pair.public_key().as_ref().into(),
                }
            }
            SigningAlg::RS256 => {
                Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("RS256"))?)
            }
            SigningAlg::EdDSA => {
                Inner::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("EdDSA"))?)
            }
        };
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let public_jwk = match &inner {
            Inner::Ec { public: p, .. } => {
                // Uncompressed point: 0x04 || X(32) || Y(32).
                json!({"kty":"EC","crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..65]),
                       "kid":kid,"alg":"ES256","use":"sig"})
            }
            Inner::Rsa(k) => {
                let pk = k.public_key();
                json!({"kty":"RSA",
                       "n":b64(pk.modulus().big_endian_without_leading_zero()),
                       "e":b64(pk.exponent().big_endian_without_leading_zero()),
                       "kid":kid,"alg":"RS256","use":"sig"})
            }
            Inner::Ed(k) => {
                json!({"kty":"OKP","crv":"Ed25519","x":b64(k.public_key().as_ref()),
                       "kid":kid,"alg":"EdDSA","use":"sig"})
            }
        };
        let headers = [
            (
                crate::claims::ACCESS_TOKEN_TYP,
                encode_header(alg, &kid, crate::claims::ACCESS_TOKEN_TYP),
            ),
            ("JWT", encode_header(alg, &kid, "JWT")),
        ];
        Ok(Self {
            kid,
            alg,
            inner,
            rng: SystemRandom::new(),
            public_jwk,
            headers,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.public_jwk
    }

    /// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
    pub fn sign_jwt<C: Serialize>(&self, typ: &str, claims: &C) -> String {
        let mut out = String::with_capacity(512);
        match self.headers.iter().find(|(t, _)| *t == typ) {
            Some((_, h)) => out.push_str(h),
            None => out.push_str(&encode_header(self.alg, &self.kid, typ)),
        }
        out.push('.');
        // Serializing our own claim structs cannot fail.
        let body = serde_json::to_vec(claims).expect("claims serialize");
        URL_SAFE_NO_PAD.encode_string(&body, &mut out);
        out.push('.');
        let signed = out.len() - 1;
        match &self.inner {
            Inner::Ec { raw, .. } => {
                let sig = raw.sign(&out.as_bytes()[..signed]);
                URL_SAFE_NO_PAD.encode_string(sig, &mut out);
            }
            Inner::Ed(k) => {
                let sig = k.sign(&out.as_bytes()[..signed]);
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
            }
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    &out.as_bytes()[..signed],
                    &mut sig,
                )
                .expect("RSA sign");
                URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
            }
        }
        out
    }

    /// The verifying half of this key.
    pub fn verifying_key(&self) -> VerifyingKey {
        let (alg, bytes): (&'static dyn signature::VerificationAlgorithm, Vec<u8>) =
            match &self.inner {
                Inner::Ec { public, .. } => (&signature::ECDSA_P256_SHA256_FIXED, public.to_vec()),
                Inner::Ed(k) => (&signature::ED25519, k.public_key().as_ref().to_vec()),
                Inner::Rsa(k) => (
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    k.public_key().as_ref().to_vec(),
                ),
            };
        VerifyingKey {
            kid: self.kid.clone(),
            alg: self.alg,
            key: signature::ParsedPublicKey::new(alg, bytes).expect("own public key parses"),
        }
    }
}

/// `base64url` of the JWS header `{alg, kid, typ}` (keys in that order).
fn encode_header(alg: SigningAlg, kid: &str, typ: &str) -> String {
    let header = json!({"alg": alg.as_str(), "kid": kid, "typ": typ});
    URL_SAFE_NO_PAD.encode(header.to_string().as_bytes())
}

/// A public key that verifies tokens authgate signed.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub alg: SigningAlg,
    key: signature::ParsedPublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token is not a compact JWS")]
    Malformed,
    #[error("token header is invalid")]
    Header,
    #[error("token type is not accepted")]
    Typ,
    #[error("token signing key is unknown")]
    UnknownKey,
    #[error("token algorithm is not accepted")]
    Alg,
    #[error("token signature is invalid")]
    Signature,
    #[error("token claims are invalid")]
    Claims,
}

#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// Verifies a compact JWS against `keys` and decodes its claims. The
/// algorithm must equal the key's own (no `none`, no HMAC, no confusion),
/// and `typ` must equal `expected_typ`. Time claims are the caller's job.
pub fn verify_jwt<C: DeserializeOwned>(
    token: &str,
    expected_typ: &str,
    keys: &[VerifyingKey],
) -> Result<C, VerifyError> {
    if token.len() > 16 * 1024 {
        return Err(VerifyError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| VerifyError::Malformed)?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| VerifyError::Header)?;
    if !header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(expected_typ)
            || t.eq_ignore_ascii_case(&format!("application/{expected_typ}"))
    }) {
        return Err(VerifyError::Typ);
    }
    let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(VerifyError::UnknownKey)?;
    if header.alg != key.alg.as_str() {
        return Err(VerifyError::Alg);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| VerifyError::Malformed)?;
    let signed_len = h.len() + 1 + p.len();
    key.key
        .verify_sig(&token.as_bytes()[..signed_len], &sig)
        .map_err(|_| VerifyError::Signature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&payload).map_err(|_| VerifyError::Claims)
}

/// OIDC `at_hash`: left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::AccessTokenClaims;
    use crate::random::OsRandom;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://as.example".into(),
            sub: "c1".into(),
            aud: "https://mcp.example/mcp".into(),
            client_id: "c1".into(),
            scope: "a b".into(),
            iat: 1,
            exp: 2,
            jti: "j".into(),
            auth_time: None,
            gid: None,
        }
    }

    #[test]
    fn sign_and_verify_each_algorithm() {
        let r = OsRandom::new();
        for alg in [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256] {
            let g = SigningKey::generate(alg, &r).unwrap();
            let again = SigningKey::from_pkcs8(g.key.kid().into(), alg, &g.pkcs8).unwrap();
            assert_eq!(again.public_jwk(), g.key.public_jwk());
            let t = g.key.sign_jwt("at+jwt", &claims());
            let vk = [g.key.verifying_key()];
            let c: AccessTokenClaims = verify_jwt(&t, "at+jwt", &vk).unwrap();
            assert_eq!(c, claims());
            assert_eq!(
                verify_jwt::<AccessTokenClaims>(&t, "JWT", &vk).unwrap_err(),
                VerifyError::Typ
            );
            let mut bad = t.clone();
            bad.pop();
            bad.push(if t.ends_with('A') { 'B' } else { 'A' });
            assert!(verify_jwt::<AccessTokenClaims>(&bad, "at+jwt", &vk).is_err());
        }
    }

    #[test]
    fn alg_none_and_unknown_kid_refused() {
        let r = OsRandom::new();
        let g = SigningKey::generate(SigningAlg::ES256, &r).unwrap();
        let vk = [g.key.verifying_key()];
        let h = URL_SAFE_NO_PAD.encode(
            format!(r#"{{"alg":"none","kid":"{}","typ":"at+jwt"}}"#, g.key.kid()).as_bytes(),
        );
        let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let t = format!("{h}.{p}.");
        assert_eq!(
            verify_jwt::<AccessTokenClaims>(&t, "at+jwt", &vk).unwrap_err(),
            VerifyError::Alg
        );
        let h2 = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"nope","typ":"at+jwt"}"#);
        assert_eq!(
            verify_jwt::<AccessTokenClaims>(&format!("{h2}.{p}.AA"), "at+jwt", &vk).unwrap_err(),
            VerifyError::UnknownKey
        );
        assert_eq!(
            verify_jwt::<AccessTokenClaims>("garbage", "at+jwt", &vk).unwrap_err(),
            VerifyError::Malformed
        );
    }
}
