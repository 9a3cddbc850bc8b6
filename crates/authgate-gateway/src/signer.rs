//! The caller assertion: a short ES256 JWT the gateway signs for the
//! upstream (`Authgate-Caller`), so an upstream that verifies it cannot be
//! reached around the gateway. The key is the gateway's own (PKCS#8 PEM,
//! generated on first start); its public half is served as a JWKS.

use crate::config::ConfigError;
use authgate_resource::Claims;
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::path::Path;

/// The JWT `typ` of a caller assertion.
pub const CALLER_TYP: &str = "authgate-caller+jwt";
/// Lifetime of a caller assertion, in seconds.
pub const CALLER_TTL_SECS: i64 = 60;

/// Signs caller assertions.
pub struct Signer {
    key: jsonwebtoken::EncodingKey,
    kid: String,
    jwk: Value,
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
        Ok(Self {
            key: jsonwebtoken::EncodingKey::from_ec_der(der),
            kid,
            jwk,
        })
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A caller assertion for `claims`, issued by `iss` for the upstream
    /// `aud`.
    pub fn caller_jwt(&self, iss: &str, aud: &str, claims: &Claims) -> Option<String> {
        let now = now();
        let mut body = json!({
            "iss": iss,
            "aud": aud,
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scope": claims.scopes.join(" "),
            "iat": now,
            "exp": now + CALLER_TTL_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        for k in ["org_id", "amr"] {
            if let Some(v) = claims.extra.get(k) {
                body[k] = v.clone();
            }
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some(CALLER_TYP.into());
        header.kid = Some(self.kid.clone());
        match jsonwebtoken::encode(&header, &body, &self.key) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a caller assertion");
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
