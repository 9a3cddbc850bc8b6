//! JWT signing with keys parsed once (ES256 default, RS256, EdDSA) and
//! verification of authgate's own tokens (for introspection).
//!
//! Every signature goes through aws-lc-rs's public signers
//! (`EcdsaKeyPair` with `ECDSA_P256_SHA256_FIXED_SIGNING`, `RsaKeyPair`,
//! `Ed25519KeyPair`), each parsed once when the key is loaded. ECDSA nonces
//! are drawn by AWS-LC at the moment of signing, with the message and the
//! private key mixed in, so a restored VM snapshot, a cloned machine or a
//! forked process never replays one (a repeated nonce gives away the key).
//!
//! Tokens are assembled by hand: the header is pre-encoded per key, so
//! issuing a token costs one JSON serialization, one base64 pass and one
//! signature.

use crate::error::OAuthError;
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

/// The algorithms authgate signs ID tokens with, the OIDC default (RS256)
/// first. The server keeps a key for each at all times, so a client's
/// registered `id_token_signed_response_alg` stays valid whatever
/// `signing_alg` the operator picks for access tokens later.
pub const ID_TOKEN_ALGS: [SigningAlg; 3] =
    [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// The ID-token algorithm of a client that registered none (OIDC Core §2).
pub const DEFAULT_ID_TOKEN_ALG: SigningAlg = SigningAlg::RS256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a key")]
    Generate,
    #[error("stored private key is not valid PKCS#8 for {0}")]
    Parse(&'static str),
}

/// A token could not be signed (the signer or its random generator failed,
/// or the claims did not serialize). Nothing is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token could not be signed")]
pub struct SignError;

/// A request whose token cannot be signed is refused with `server_error`,
/// and the operator gets one error line.
impl From<SignError> for OAuthError {
    fn from(e: SignError) -> Self {
        tracing::error!(error = %e, "token signing failure; request refused");
        OAuthError::server_error("the server could not complete the request; try again")
    }
}

enum Inner {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key, parsed once at start-up or rotation.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    inner: Inner,
    /// aws-lc-rs's signers take a generator for *ring* compatibility and
    /// draw from AWS-LC's own; one handle is kept rather than made per call.
    rng: SystemRandom,
    public_jwk: serde_json::Value,
    verifying: VerifyingKey,
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
        let kid = crate::secret::generate_id(rng).map_err(|_| KeyError::Generate)?;
        let key = Self::from_pkcs8(kid, alg, &pkcs8)?;
        Ok(GeneratedKey { key, pkcs8 })
    }

    pub fn from_pkcs8(kid: String, alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        // aws-lc-rs's parsers also check that the public key in the
        // document matches the private one.
        let inner = match alg {
            SigningAlg::ES256 => Inner::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError::Parse("ES256"))?,
            ),
            SigningAlg::RS256 => {
                Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("RS256"))?)
            }
            SigningAlg::EdDSA => {
                Inner::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("EdDSA"))?)
            }
        };
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let (public_jwk, verify_alg, public): (
            _,
            &'static dyn signature::VerificationAlgorithm,
            Vec<u8>,
        ) = match &inner {
            Inner::Ec(k) => {
                // Uncompressed point: 0x04 || X(32) || Y(32).
                let p = k.public_key().as_ref();
                if p.len() != 65 {
                    return Err(KeyError::Parse("ES256"));
                }
                (
                    json!({"kty":"EC","crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..65]),
                           "kid":kid,"alg":"ES256","use":"sig"}),
                    &signature::ECDSA_P256_SHA256_FIXED,
                    p.to_vec(),
                )
            }
            Inner::Rsa(k) => {
                let pk = k.public_key();
                (
                    json!({"kty":"RSA",
                           "n":b64(pk.modulus().big_endian_without_leading_zero()),
                           "e":b64(pk.exponent().big_endian_without_leading_zero()),
                           "kid":kid,"alg":"RS256","use":"sig"}),
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    pk.as_ref().to_vec(),
                )
            }
            Inner::Ed(k) => (
                json!({"kty":"OKP","crv":"Ed25519","x":b64(k.public_key().as_ref()),
                       "kid":kid,"alg":"EdDSA","use":"sig"}),
                &signature::ED25519,
                k.public_key().as_ref().to_vec(),
            ),
        };
        let verifying = VerifyingKey {
            kid: kid.clone(),
            alg,
            key: signature::ParsedPublicKey::new(verify_alg, public)
                .map_err(|_| KeyError::Parse(alg.as_str()))?,
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
            verifying,
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
    pub fn sign_jwt<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, SignError> {
        let mut out = String::with_capacity(512);
        match self.headers.iter().find(|(t, _)| *t == typ) {
            Some((_, h)) => out.push_str(h),
            None => out.push_str(&encode_header(self.alg, &self.kid, typ)),
        }
        out.push('.');
        let body = serde_json::to_vec(claims).map_err(|_| SignError)?;
        URL_SAFE_NO_PAD.encode_string(&body, &mut out);
        let signing_input = out.as_bytes();
        match &self.inner {
            Inner::Ec(k) => {
                let sig = k.sign(&self.rng, signing_input).map_err(|_| SignError)?;
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
            }
            Inner::Ed(k) => {
                let sig = k.sign(signing_input);
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
            }
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    signing_input,
                    &mut sig,
                )
                .map_err(|_| SignError)?;
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
            }
        }
        Ok(out)
    }

    /// The verifying half of this key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
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

/// OIDC `at_hash` for an ID token signed with `alg`: the left half of the
/// access token's hash under the hash of `alg` (OIDC Core §3.1.3.6):
/// SHA-256 for RS256 and ES256, SHA-512 for EdDSA with Ed25519.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let hash = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => &aws_lc_rs::digest::SHA256,
        SigningAlg::EdDSA => &aws_lc_rs::digest::SHA512,
    };
    let d = aws_lc_rs::digest::digest(hash, access_token.as_bytes());
    let d = d.as_ref();
    URL_SAFE_NO_PAD.encode(&d[..d.len() / 2])
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
            amr: Vec::new(),
            idp: None,
            org_id: None,
        }
    }

    #[test]
    fn sign_and_verify_each_algorithm() {
        let r = OsRandom::new();
        for alg in [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256] {
            let g = SigningKey::generate(alg, &r).unwrap();
            let again = SigningKey::from_pkcs8(g.key.kid().into(), alg, &g.pkcs8).unwrap();
            assert_eq!(again.public_jwk(), g.key.public_jwk());
            let t = g.key.sign_jwt("at+jwt", &claims()).unwrap();
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
    fn es256_nonces_are_fresh_for_every_signature() {
        // The same claims signed twice: a repeated nonce would show as a
        // repeated r (the first half of the signature) and give away the key.
        let g = SigningKey::generate(SigningAlg::ES256, &OsRandom::new()).unwrap();
        let vk = [g.key.verifying_key()];
        let mut rs = std::collections::HashSet::new();
        for _ in 0..200 {
            let t = g.key.sign_jwt("at+jwt", &claims()).unwrap();
            let _: AccessTokenClaims = verify_jwt(&t, "at+jwt", &vk).unwrap();
            let sig = URL_SAFE_NO_PAD
                .decode(t.rsplit('.').next().unwrap())
                .unwrap();
            assert_eq!(sig.len(), 64, "JWS r || s");
            assert!(rs.insert(sig[..32].to_vec()), "a nonce was used twice");
        }
    }

    #[test]
    fn at_hash_follows_the_id_token_alg() {
        // OIDC Core §3.1.3.8's example access token and at_hash (RS256).
        assert_eq!(
            at_hash(
                SigningAlg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            at_hash(SigningAlg::ES256, "x"),
            at_hash(SigningAlg::RS256, "x")
        );
        assert_eq!(at_hash(SigningAlg::EdDSA, "x").len(), 43);
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
