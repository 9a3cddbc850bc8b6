//! Client public keys for `private_key_jwt` (RFC 7523): a client's `jwks`
//! (inline) or `jwks_uri` (fetched through the SSRF-guarded fetcher and
//! cached). Keys are parsed once; each key type pins the algorithms it may
//! verify: EC P-256 → ES256, Ed25519 → EdDSA, RSA → RS256 or PS256 (one of
//! them when the JWK names its `alg`). Nothing else — no `none`, no HMAC.

use crate::outbound::{FetchError, Fetcher, NegativeCache};
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Most keys kept from one JWKS.
const MAX_KEYS: usize = 20;
/// Most cached `jwks_uri` documents.
const MAX_CACHED: usize = 1000;
/// A `jwks_uri` is refetched for an unknown `kid` at most this often.
const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(60);

/// Accepted assertion algorithms, as advertised in metadata.
pub const ALGORITHMS: &[&str] = &["ES256", "RS256", "PS256", "EdDSA"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyMaterial {
    /// Uncompressed SEC1 point.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    pub kid: Option<String>,
    /// The JWK's own `alg`, when given.
    alg: Option<String>,
    material: KeyMaterial,
}

impl ClientKey {
    /// Whether this key may verify `alg`.
    pub fn permits(&self, alg: &str) -> bool {
        let by_type = match self.material {
            KeyMaterial::P256(_) => alg == "ES256",
            KeyMaterial::Ed25519(_) => alg == "EdDSA",
            KeyMaterial::Rsa { .. } => alg == "RS256" || alg == "PS256",
        };
        by_type && self.alg.as_deref().is_none_or(|a| a == alg)
    }

    /// Verifies `sig` over `msg` with `alg` (which the caller checked with
    /// [`ClientKey::permits`]).
    pub fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
        if !self.permits(alg) {
            return false;
        }
        match (&self.material, alg) {
            (KeyMaterial::P256(point), "ES256") => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            (KeyMaterial::Ed25519(x), "EdDSA") => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(msg, sig)
                .is_ok(),
            (KeyMaterial::Rsa { n, e }, "RS256") => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
            (KeyMaterial::Rsa { n, e }, "PS256") => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, msg, sig)
                .is_ok(),
            _ => false,
        }
    }
}

/// The usable signature keys of a client's JWKS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    pub keys: Vec<ClientKey>,
}

impl KeySet {
    /// Keys that may verify a JWT with this header: by `kid` when given,
    /// else every key permitting `alg`.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: &'a str,
    ) -> impl Iterator<Item = &'a ClientKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.permits(alg) && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

fn b64(v: &Value, name: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a key lacks {name}"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("a key's {name} is not base64url"))
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// Private-key members a public JWKS must never carry.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn parse_key(v: &Value) -> Result<Option<ClientKey>, String> {
    let Some(obj) = v.as_object() else {
        return Err("a key is not a JSON object".into());
    };
    if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return Err("it contains private or symmetric key material".into());
    }
    if obj
        .get("use")
        .and_then(Value::as_str)
        .is_some_and(|u| u != "sig")
    {
        return Ok(None);
    }
    let kid = obj.get("kid").and_then(Value::as_str).map(str::to_owned);
    let alg = obj.get("alg").and_then(Value::as_str).map(str::to_owned);
    let material = match (
        obj.get("kty").and_then(Value::as_str),
        obj.get("crv").and_then(Value::as_str),
    ) {
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (b64(v, "x")?, b64(v, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("a P-256 key has coordinates of the wrong length".into());
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            KeyMaterial::P256(point)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let x = b64(v, "x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key has the wrong length".into());
            }
            KeyMaterial::Ed25519(x)
        }
        (Some("RSA"), _) => {
            let (n, e) = (b64(v, "n")?, b64(v, "e")?);
            let (n, e) = (strip_leading_zeros(&n), strip_leading_zeros(&e));
            if n.len() < 256 || n.len() > 1024 || e.is_empty() || e.len() > 8 {
                return Err("an RSA key must have a 2048 to 8192-bit modulus".into());
            }
            KeyMaterial::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
            }
        }
        _ => return Ok(None), // another key type: skipped
    };
    let key = ClientKey { kid, alg, material };
    // A JWK naming an algorithm must name one its type allows.
    if let Some(a) = &key.alg
        && !key.permits(a)
    {
        return Ok(None);
    }
    Ok(Some(key))
}

/// Parses a client JWKS (`{"keys": [...]}`). At least one usable signature
/// key of an accepted algorithm is required; private key material anywhere
/// refuses the whole set.
pub fn parse(v: &Value) -> Result<KeySet, String> {
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "it is not a JWK set (no \"keys\" array)".to_string())?;
    if keys.len() > MAX_KEYS {
        return Err(format!("it holds more than {MAX_KEYS} keys"));
    }
    let mut out = Vec::new();
    for k in keys {
        if let Some(key) = parse_key(k)? {
            out.push(key);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "it holds no signature key for {}",
            ALGORITHMS.join(", ")
        ));
    }
    Ok(KeySet { keys: out })
}

struct Entry {
    fetched: Instant,
    expires: Instant,
    keys: Arc<KeySet>,
}

/// Cache of fetched `jwks_uri` documents. Failures are remembered briefly
/// (fetch failures by the fetcher, unusable key sets here), so a broken
/// `jwks_uri` is not fetched again on every token request.
pub struct JwksCache {
    entries: RwLock<HashMap<String, Entry>>,
    invalid: NegativeCache<String>,
}

/// Why keys from a `jwks_uri` are unavailable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JwksError {
    #[error("the client's jwks_uri could not be fetched: {0}")]
    Fetch(#[from] FetchError),
    #[error("the client's jwks_uri is not a usable JWK set: {0}")]
    Invalid(String),
}

impl JwksCache {
    /// `negative_ttl`: how long an unusable key set is remembered.
    pub fn new(negative_ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            invalid: NegativeCache::new(negative_ttl),
        }
    }

    /// The keys at `uri`. A cached set is used while fresh, unless `kid` is
    /// not in it and the last fetch is over a minute old (key rotation).
    pub async fn keys(
        &self,
        fetcher: &Fetcher,
        uri: &url::Url,
        kid: Option<&str>,
        ttl: impl Fn(Option<u64>, bool) -> Duration,
    ) -> Result<Arc<KeySet>, JwksError> {
        if let Ok(g) = self.entries.read()
            && let Some(e) = g.get(uri.as_str())
            && e.expires > Instant::now()
        {
            let known = kid.is_none_or(|k| e.keys.has_kid(k));
            if known || e.fetched.elapsed() < REFETCH_MIN_INTERVAL {
                return Ok(e.keys.clone());
            }
        }
        if let Some(why) = self.invalid.get(uri.as_str()) {
            return Err(JwksError::Invalid(why));
        }
        let fetched = fetcher.get_json(uri).await?;
        let parsed = serde_json::from_slice::<Value>(&fetched.body)
            .map_err(|_| "it is not valid JSON".to_string())
            .and_then(|v| parse(&v));
        let keys = match parsed {
            Ok(k) => Arc::new(k),
            Err(why) => {
                self.invalid.put(uri.as_str(), why.clone());
                return Err(JwksError::Invalid(why));
            }
        };
        let now = Instant::now();
        let expires = now + ttl(fetched.max_age, fetched.no_cache);
        if let Ok(mut g) = self.entries.write() {
            if g.len() >= MAX_CACHED {
                g.retain(|_, e| e.expires > now);
                if g.len() >= MAX_CACHED {
                    g.clear();
                }
            }
            g.insert(
                uri.as_str().to_owned(),
                Entry {
                    fetched: now,
                    expires,
                    keys: keys.clone(),
                },
            );
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    fn ec_jwk() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        let pt = kp.public_key().as_ref().to_vec();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&pt[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&pt[33..]),
        });
        (kp, jwk)
    }

    #[test]
    fn verifies_es256_and_pins_algorithms() {
        let (kp, jwk) = ec_jwk();
        let set = parse(&json!({"keys": [jwk]})).unwrap();
        let rng = SystemRandom::new();
        let sig = kp.sign(&rng, b"msg").unwrap();
        let k = set.candidates(Some("k1"), "ES256").next().unwrap();
        assert!(k.verify("ES256", b"msg", sig.as_ref()));
        assert!(!k.verify("ES256", b"other", sig.as_ref()));
        assert!(!k.verify("RS256", b"msg", sig.as_ref()));
        assert_eq!(set.candidates(Some("k1"), "HS256").count(), 0);
        assert_eq!(set.candidates(Some("k2"), "ES256").count(), 0);
    }

    #[test]
    fn verifies_eddsa() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(kp.public_key().as_ref())});
        let set = parse(&json!({"keys": [jwk]})).unwrap();
        let sig = kp.sign(b"m");
        assert!(set.keys[0].verify("EdDSA", b"m", sig.as_ref()));
    }

    #[test]
    fn refuses_private_material_and_empty_sets() {
        let (_, mut jwk) = ec_jwk();
        assert!(parse(&json!({"keys": []})).is_err());
        assert!(parse(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).is_err());
        jwk["d"] = json!("AAAA");
        assert!(parse(&json!({"keys": [jwk]})).is_err());
        assert!(parse(&json!({"nokeys": 1})).is_err());
    }
}
