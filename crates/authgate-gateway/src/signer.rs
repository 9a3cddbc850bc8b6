//! The caller assertion: a short ES256 JWT the gateway signs for the
//! upstream (`Authgate-Caller`), so an upstream that verifies it cannot be
//! reached around the gateway. The key is the gateway's own (PKCS#8 PEM,
//! generated on first start); its public half is served as a JWKS.
//!
//! Signing is the gateway's largest cost per call, so the key is parsed
//! once (aws-lc-rs `EcdsaKeyPair`, not a DER re-parse per signature) and
//! an assertion is reused for the same token and upstream while more than
//! half its lifetime is left: a client calling tools in a loop costs one
//! signature per half-minute, not one per call.

use crate::config::ConfigError;
use authgate_resource::Claims;
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// The JWT `typ` of a caller assertion.
pub const CALLER_TYP: &str = "authgate-caller+jwt";
/// Lifetime of a caller assertion, in seconds.
pub const CALLER_TTL_SECS: i64 = 60;

/// Most assertions kept for reuse; past it the cache is emptied (a
/// burst of distinct tokens costs signatures, never memory).
const MAX_CACHED: usize = 10_000;

/// Signs caller assertions.
pub struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
    jwk: Value,
    /// The JOSE header, base64url-encoded once.
    header_b64: String,
    /// Assertions by (token id, upstream audience): the JWT and its `exp`.
    cache: Mutex<HashMap<(String, String), (String, i64)>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

const PEM_LABEL: &str = "PRIVATE KEY";

impl Signer {
    /// Reads the key at `path`, or generates one there (mode 0600).
    pub fn load_or_generate(path: &Path) -> Result<Self, ConfigError> {
        let key = "signing_key_file";
        if path.exists() {
            let pem = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(key, format!("cannot read {}: {e}", path.display()))
            })?;
            let der = pem_decode(&pem).ok_or_else(|| {
                ConfigError::new(
                    key,
                    format!(
                        "{} holds no PKCS#8 \"PRIVATE KEY\" PEM block",
                        path.display()
                    ),
                )
            })?;
            return Self::from_pkcs8(&der)
                .map_err(|r| ConfigError::new(key, format!("{}: {r}", path.display())));
        }
        let der =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| ConfigError::new(key, "cannot generate a P-256 key"))?;
        let der = der.as_ref().to_vec();
        write_private(path, &pem_encode(&der))
            .map_err(|e| ConfigError::new(key, format!("cannot write {}: {e}", path.display())))?;
        tracing::info!(file = %path.display(), "generated the gateway's signing key");
        Self::from_pkcs8(&der).map_err(|r| ConfigError::new(key, r))
    }

    /// A signer for an ES256 (P-256) PKCS#8 key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, &'static str> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| "not a P-256 PKCS#8 private key")?;
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err("unexpected public key encoding");
        }
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
        // RFC 7638 thumbprint: members in lexicographic order, no spaces.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
        let jwk = json!({"kty":"EC","crv":"P-256","x":x,"y":y,"kid":kid,"alg":"ES256","use":"sig"});
        let header = json!({"alg": "ES256", "typ": CALLER_TYP, "kid": kid});
        Ok(Self {
            header_b64: b64(header.to_string().as_bytes()),
            pair,
            rng: SystemRandom::new(),
            kid,
            jwk,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A caller assertion for `claims`, issued by `iss` for the upstream
    /// `aud`: a cached one while more than half its life is left (tokens
    /// with a `jti` only), else a new one. It never outlives the token.
    pub fn caller_jwt(&self, iss: &str, aud: &str, claims: &Claims) -> Option<String> {
        let now = now();
        let key = claims.jti.as_ref().map(|j| (j.clone(), aud.to_owned()));
        if let Some(k) = &key
            && let Ok(cache) = self.cache.lock()
            && let Some((jwt, exp)) = cache.get(k)
            && exp - now > CALLER_TTL_SECS / 2
        {
            return Some(jwt.clone());
        }
        let exp = (now + CALLER_TTL_SECS).min(claims.exp);
        let jwt = self.sign(iss, aud, claims, now, exp)?;
        if let Some(k) = key
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (_, e)| *e - now > CALLER_TTL_SECS / 2);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(k, (jwt.clone(), exp));
        }
        Some(jwt)
    }

    /// A new assertion (JWS compact serialization, ES256).
    fn sign(&self, iss: &str, aud: &str, claims: &Claims, now: i64, exp: i64) -> Option<String> {
        let mut body = json!({
            "iss": iss,
            "aud": aud,
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scope": claims.scopes.join(" "),
            "iat": now,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        for k in ["org_id", "amr", "idp"] {
            if let Some(v) = claims.extra.get(k) {
                body[k] = v.clone();
            }
        }
        let mut jwt = format!(
            "{}.{}",
            self.header_b64,
            URL_SAFE_NO_PAD.encode(body.to_string())
        );
        // FIXED signing gives r || s, the JWS ES256 encoding (RFC 7518 §3.4).
        match self.pair.sign(&self.rng, jwt.as_bytes()) {
            Ok(sig) => {
                jwt.push('.');
                jwt.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
                Some(jwt)
            }
            Err(_) => {
                tracing::error!("cannot sign a caller assertion");
                None
            }
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn pem_encode(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {PEM_LABEL}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    out
}

fn pem_decode(pem: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// Writes a new private file: created with mode 0600 (never readable by
/// others, not even briefly), parent directories made as needed.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: Option<&str>, exp: i64) -> Claims {
        let mut c = Claims::new(
            "https://as.example",
            "u1",
            "c1",
            "https://mcp.example/mcp",
            vec!["a".into(), "b".into()],
            now(),
            exp,
            &authgate_resource::ScopeImplications::new(),
        );
        c.jti = jti.map(str::to_owned);
        c.extra.insert("org_id".into(), json!("acme"));
        c
    }

    #[test]
    fn assertions_verify_with_the_published_key_and_are_reused_per_token() {
        let dir = tempfile::tempdir().unwrap();
        let s = Signer::load_or_generate(&dir.path().join("k.pem")).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(s.jwk.clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&["http://up/mcp"]);
        let c = claims(Some("t1"), now() + 3600);
        let a = s.caller_jwt("https://gw", "http://up/mcp", &c).unwrap();
        let h = jsonwebtoken::decode_header(&a).unwrap();
        assert_eq!(h.typ.as_deref(), Some(CALLER_TYP));
        let d = jsonwebtoken::decode::<Value>(&a, &key, &v).unwrap();
        assert_eq!(d.claims["sub"], "u1");
        assert_eq!(d.claims["org_id"], "acme");
        // Same token, same upstream: the same assertion.
        assert_eq!(s.caller_jwt("https://gw", "http://up/mcp", &c).unwrap(), a);
        // Another upstream or another token: a new one.
        assert_ne!(
            s.caller_jwt("https://gw", "http://other/mcp", &c).unwrap(),
            a
        );
        let c2 = claims(Some("t2"), now() + 3600);
        assert_ne!(s.caller_jwt("https://gw", "http://up/mcp", &c2).unwrap(), a);
        // No jti: never cached.
        let c3 = claims(None, now() + 3600);
        let x = s.caller_jwt("https://gw", "http://up/mcp", &c3).unwrap();
        assert_ne!(s.caller_jwt("https://gw", "http://up/mcp", &c3).unwrap(), x);
        // A token about to expire: the assertion ends with it (and is not
        // reused, having less than half a lifetime).
        let c4 = claims(Some("t4"), now() + 10);
        let y = s.caller_jwt("https://gw", "http://up/mcp", &c4).unwrap();
        let mut v2 = v.clone();
        v2.leeway = 0;
        let d = jsonwebtoken::decode::<Value>(&y, &key, &v2).unwrap();
        assert!(d.claims["exp"].as_i64().unwrap() <= now() + 10);
        assert_ne!(s.caller_jwt("https://gw", "http://up/mcp", &c4).unwrap(), y);
    }

    #[test]
    fn generates_then_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/signing-key.pem");
        let a = Signer::load_or_generate(&path).unwrap();
        let b = Signer::load_or_generate(&path).unwrap();
        assert_eq!(a.jwks(), b.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("bad.pem"), "nope").unwrap();
        let e = Signer::load_or_generate(&dir.path().join("bad.pem")).unwrap_err();
        assert_eq!(e.key, "signing_key_file");
    }
}
