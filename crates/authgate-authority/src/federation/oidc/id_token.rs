//! ID-token validation (OpenID Connect Core 3.1.3.7): the signature
//! through `jsonwebtoken` against the upstream's published key, then the
//! claims: `iss` exact (or Microsoft's per-tenant template with the token's
//! own `tid`), `aud` contains our client id, `azp` when several audiences
//! (and equal to us whenever present), `exp`/`iat`/`nbf` with
//! [`LEEWAY`] seconds, `nonce` equal to the one we sent.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY: i64 = 60;
/// Largest ID token read.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Whose issuer the token must name.
#[derive(Debug, Clone, Copy)]
pub enum IssuerRule<'a> {
    Exact(&'a str),
    /// `…/{tenantid}/…`: the token's `tid` fills the template.
    Tenant(&'a str),
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: IssuerRule<'a>,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
}

/// The asymmetric algorithms accepted; `none` and the HMAC family never
/// (an HMAC key would be our client secret, which we never verify with).
const ALGS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The token's header: its algorithm (one of [`ALGS`]) and `kid`.
pub fn header(token: &str) -> Result<(Algorithm, Option<String>), String> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err("the ID token is too large".into());
    }
    let h = jsonwebtoken::decode_header(token).map_err(|_| "the ID token is not a JWT")?;
    if !ALGS.contains(&h.alg) {
        return Err(format!(
            "the ID token's algorithm {:?} is not accepted",
            h.alg
        ));
    }
    Ok((h.alg, h.kid))
}

/// Checks the signature with `jwk` and returns the claims (not yet
/// checked: see [`check_claims`]).
pub fn verify_signature(token: &str, alg: Algorithm, jwk: &Jwk) -> Result<Value, String> {
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "the provider's key is not usable")?;
    let mut v = Validation::new(alg);
    // Time and audience are checked below against our clock and rules.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                "the ID token's signature does not verify".to_string()
            }
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                "the ID token's algorithm does not match the key".to_string()
            }
            _ => "the ID token could not be verified".to_string(),
        })
}

fn num(c: &Value, k: &str) -> Result<Option<i64>, String> {
    match c.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| format!("the ID token's {k} is not a number")),
    }
}

/// Whether `tid` looks like a tenant id (a GUID, or a short slug): it goes
/// into the issuer, so nothing that could change its structure.
pub(crate) fn plausible_tenant(tid: &str) -> bool {
    (1..=64).contains(&tid.len()) && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The claims checks; `Ok` with the token's `sub`.
pub fn check_claims(c: &Value, e: &Expected<'_>) -> Result<String, String> {
    let iss = c
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("the ID token has no iss")?;
    let want = match e.issuer {
        IssuerRule::Exact(i) => i.to_owned(),
        IssuerRule::Tenant(t) => {
            let tid = c
                .get("tid")
                .and_then(Value::as_str)
                .filter(|t| plausible_tenant(t))
                .ok_or("the ID token has no usable tid")?;
            t.replace("{tenantid}", tid)
        }
    };
    if iss != want {
        return Err(format!("the ID token's issuer {iss:?} is not {want:?}"));
    }
    let sub = c
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or("the ID token has no usable sub")?;
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err("the ID token has no aud".into()),
    };
    if !auds.contains(&e.client_id) {
        return Err("the ID token is not meant for this server (aud)".into());
    }
    match c.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != e.client_id => {
            return Err("the ID token was issued to another client (azp)".into());
        }
        None if auds.len() > 1 => {
            return Err("the ID token has several audiences and no azp".into());
        }
        _ => {}
    }
    let exp = num(c, "exp")?.ok_or("the ID token has no exp")?;
    if e.now > exp + LEEWAY {
        return Err("the ID token has expired".into());
    }
    let iat = num(c, "iat")?.ok_or("the ID token has no iat")?;
    if iat > e.now + LEEWAY {
        return Err("the ID token is issued in the future".into());
    }
    if let Some(nbf) = num(c, "nbf")?
        && nbf > e.now + LEEWAY
    {
        return Err("the ID token is not valid yet".into());
    }
    let nonce = c.get("nonce").and_then(Value::as_str);
    let nonce_ok = nonce
        .is_some_and(|n| subtle::ConstantTimeEq::ct_eq(n.as_bytes(), e.nonce.as_bytes()).into());
    if !nonce_ok {
        return Err("the ID token's nonce is not the one sent".into());
    }
    Ok(sub.to_owned())
}
