//! JSON Web Keys (RFC 7517/7518/8037) parsed once into aws-lc-rs keys.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The signing algorithms accepted. Nothing else is: no `none`, no HMAC,
/// no RSA-PSS or other curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256, fixed-length (r‖s) signature.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
    RS256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every accepted algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` value (exact, case-sensitive per RFC 7515).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
}

/// One verification key.
pub(crate) struct Key {
    pub kid: Option<Box<str>>,
    pub alg: Algorithm,
    pub key: ParsedPublicKey,
}

impl std::fmt::Debug for Key {
    // No key bytes: errors and logs never carry key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The outcome of looking a key up for a token header.
pub(crate) enum Lookup<'a> {
    Found(&'a Key),
    /// A key has this `kid` but another algorithm.
    WrongAlg,
    NotFound,
}

/// The usable keys of a JWKS.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn b64(s: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.as_deref()?).ok()
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

impl Jwk {
    /// The key, or `None` when it is not a signature key of an accepted
    /// algorithm (such keys are skipped, not fatal: a JWKS may hold
    /// encryption keys or algorithms this SDK does not accept).
    fn parse(&self) -> Option<Key> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return None;
        }
        let (alg, key) = match (self.kty.as_str(), self.crv.as_deref()) {
            ("EC", Some("P-256")) => {
                let (x, y) = (b64(&self.x)?, b64(&self.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut point = [0u8; 65];
                point[0] = 4;
                point[1..33].copy_from_slice(&x);
                point[33..].copy_from_slice(&y);
                (
                    Algorithm::ES256,
                    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).ok()?,
                )
            }
            ("OKP", Some("Ed25519")) => {
                let x = b64(&self.x)?;
                if x.len() != 32 {
                    return None;
                }
                (
                    Algorithm::EdDSA,
                    ParsedPublicKey::new(&signature::ED25519, x).ok()?,
                )
            }
            ("RSA", _) => {
                let (n, e) = (b64(&self.n)?, b64(&self.e)?);
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                if n.len() < 256 || n.len() > 1024 || e.is_empty() || e.len() > 8 {
                    return None;
                }
                let key = RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                    .ok()?;
                (Algorithm::RS256, key)
            }
            _ => return None,
        };
        // A JWK that names its algorithm must name the one its type implies.
        if let Some(a) = &self.alg
            && a != alg.as_str()
        {
            return None;
        }
        Some(Key {
            kid: self.kid.as_deref().map(Into::into),
            alg,
            key,
        })
    }
}

impl KeySet {
    /// Parses a JWKS document, keeping the keys of `allowed` algorithms.
    /// Fails only when the document is not a JWKS at all.
    pub fn parse(json: &[u8], allowed: &[Algorithm]) -> Result<Self, ()> {
        let jwks: Jwks = serde_json::from_slice(json).map_err(|_| ())?;
        let keys = jwks
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Jwk>(v).ok()?.parse())
            .filter(|k| allowed.contains(&k.alg))
            .collect();
        Ok(Self { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key for a token's `kid` and `alg`. A token without `kid` is
    /// accepted only when exactly one key has its algorithm.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => match self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                Some(k) if k.alg == alg => Lookup::Found(k),
                Some(_) => Lookup::WrongAlg,
                None => Lookup::NotFound,
            },
            None => {
                let mut it = self.keys.iter().filter(|k| k.alg == alg);
                match (it.next(), it.next()) {
                    (Some(k), None) => Lookup::Found(k),
                    _ => Lookup::NotFound,
                }
            }
        }
    }

    pub fn has_kid(&self, kid: Option<&str>) -> bool {
        kid.is_some_and(|kid| self.keys.iter().any(|k| k.kid.as_deref() == Some(kid)))
    }
}
