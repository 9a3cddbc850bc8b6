//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (RFC 7523 §2.2, for clients with `jwks`/`jwks_uri`),
//! or `none` (public clients, client_id only). One method per request.

use crate::Authority;
use crate::cimd::jwks::KeySet;
use authgate_core::OAuthError;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, TokenEndpointAuthMethod};
use authgate_core::secret;
use authgate_core::token_request::BodyClientAuth;
use base64::Engine;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Arc<Client>,
    pub method: TokenEndpointAuthMethod,
}

impl AuthenticatedClient {
    pub fn is_confidential(&self) -> bool {
        self.method.is_confidential()
    }
}

/// What a client presented: `client_secret_basic` credentials from the
/// `Authorization` header (decoded by the HTTP layer) and the body's
/// parameters.
pub struct Credentials<'a> {
    pub basic: Option<(String, String)>,
    pub body: &'a BodyClientAuth,
}

/// Authenticates the client of a token-endpoint-style request.
pub async fn authenticate(
    state: &Authority,
    credentials: Credentials<'_>,
) -> Result<AuthenticatedClient, OAuthError> {
    let Credentials {
        basic: header_creds,
        body,
    } = credentials;
    if body.client_assertion.is_some() || body.client_assertion_type.is_some() {
        if header_creds.is_some() || body.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        return private_key_jwt(state, body).await;
    }
    let (client_id, presented_secret, method) = presented_secret(header_creds, body)?;
    if client_id.len() > 2048 {
        return Err(OAuthError::invalid_client("unknown client"));
    }
    let client = crate::clients::resolve_for_token_endpoint(state, &client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_client("unknown client or wrong credentials"))?;
    if client.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    check_secret(&client, presented_secret)?;
    state
        .registry
        .mark_used(&client.client_id, state.clock.now());
    Ok(AuthenticatedClient { client, method })
}

/// The client id, the secret if one was presented, and the method that
/// presented them: Basic credentials, a body secret, or the client id
/// alone (never two of them).
fn presented_secret(
    header_creds: Option<(String, String)>,
    body: &BodyClientAuth,
) -> Result<(String, Option<String>, TokenEndpointAuthMethod), OAuthError> {
    Ok(match (header_creds, &body.client_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        (Some((id, sec)), None) => {
            if body.client_id.as_ref().is_some_and(|b| b != &id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (id, Some(sec), TokenEndpointAuthMethod::ClientSecretBasic)
        }
        (None, Some(sec)) => {
            let id = body
                .client_id
                .clone()
                .ok_or_else(|| OAuthError::invalid_client("client_id is required"))?;
            (
                id,
                Some(sec.clone()),
                TokenEndpointAuthMethod::ClientSecretPost,
            )
        }
        (None, None) => {
            let id = body
                .client_id
                .clone()
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
            (id, None, TokenEndpointAuthMethod::None)
        }
    })
}

/// The presented secret against the client's: a client with a secret must
/// present it, a client without one must not, and a client registered for
/// a confidential method cannot get by with its id alone.
fn check_secret(client: &Client, presented_secret: Option<String>) -> Result<(), OAuthError> {
    match (client.secret_hash.as_deref(), presented_secret) {
        (Some(hash), Some(sec)) => {
            if !secret::verify(&sec, hash) {
                return Err(OAuthError::invalid_client(
                    "unknown client or wrong credentials",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_client(
                "this client must authenticate with its secret",
            ));
        }
        (None, Some(_)) => {
            // A public client presenting a secret: refuse rather than
            // pretend it authenticated.
            return Err(OAuthError::invalid_client(
                "this client has no secret; authenticate with client_id only",
            ));
        }
        (None, None) => {
            if client.metadata.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt
            {
                return Err(OAuthError::invalid_client(
                    "this client must authenticate with a private_key_jwt client assertion",
                ));
            }
            if client.metadata.token_endpoint_auth_method.is_confidential() {
                return Err(OAuthError::invalid_client("this client must authenticate"));
            }
        }
    }
    Ok(())
}

/// `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest assertion read.
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// Clock skew tolerated on `exp`, `nbf`, `iat`.
const LEEWAY_SECS: i64 = 30;
/// An assertion may live at most this long (`exp` − now).
const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;

fn b64_json(part: &str) -> Option<Claims> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(o) => Some(o),
        _ => None,
    }
}

fn numeric(claims: &Claims, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Whether an assertion's `aud` is exactly `issuer`: the string itself, or
/// an array holding only it. Anything else is refused — other values beside
/// the issuer (an assertion made for another server could be replayed here,
/// the 2025 audience-injection disclosure) and the token endpoint URL
/// (draft-ietf-oauth-rfc7523bis: the audience is the issuer identifier
/// alone). A one-element array is the same single audience (RFC 7519 §4.1.3
/// allows either form) and common in JWT libraries, so it is kept.
fn audience_is_exactly(aud: Option<&serde_json::Value>, issuer: &str) -> bool {
    match aud {
        Some(serde_json::Value::String(a)) => a == issuer,
        Some(serde_json::Value::Array(list)) => {
            matches!(list.as_slice(), [serde_json::Value::String(a)] if a == issuer)
        }
        _ => false,
    }
}

/// RFC 7523 client authentication: the assertion is a JWT signed with one
/// of the client's keys (algorithm pinned by the key), `iss` = `sub` =
/// client_id, `aud` exactly this server's issuer, `exp`
/// required and at most five minutes ahead, `jti` single-use.
async fn private_key_jwt(
    state: &Authority,
    body: &BodyClientAuth,
) -> Result<AuthenticatedClient, OAuthError> {
    let assertion = Assertion::parse(body)?;
    let client_id = assertion.client_id(body)?;
    let client = crate::clients::resolve_for_token_endpoint(state, client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_client("unknown client or wrong credentials"))?;
    if client.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    if client.metadata.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return Err(OAuthError::invalid_client(
            "this client is not registered for private_key_jwt",
        ));
    }
    let keys = client_keys(state, &client, assertion.kid.as_deref()).await?;
    assertion.check_signature(&keys)?;
    let now = state.clock.now();
    let exp = assertion.check_times(now)?;
    assertion.check_audience(&state.settings.issuer)?;
    spend_jti(state, client_id, &assertion.claims, exp, now).await?;
    state
        .registry
        .mark_used(&client.client_id, state.clock.now());
    Ok(AuthenticatedClient {
        client,
        method: TokenEndpointAuthMethod::PrivateKeyJwt,
    })
}

type Claims = serde_json::Map<String, serde_json::Value>;

/// A client assertion taken apart, its header checked (nothing verified
/// yet).
struct Assertion<'a> {
    /// `header.payload`, the bytes the signature covers.
    signed: &'a str,
    claims: Claims,
    signature: Vec<u8>,
    alg: String,
    kid: Option<String>,
}

impl<'a> Assertion<'a> {
    /// The body's assertion, of the JWT bearer type, within size, in three
    /// base64url parts, with a supported `alg`, no `crit` and an accepted
    /// `typ`.
    fn parse(body: &'a BodyClientAuth) -> Result<Self, OAuthError> {
        if body.client_assertion_type.as_deref() != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )));
        }
        let assertion = body
            .client_assertion
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_client("client_assertion is required"))?;
        if assertion.len() > MAX_ASSERTION_LEN {
            return Err(OAuthError::invalid_client("client_assertion is too large"));
        }
        let malformed = || OAuthError::invalid_client("client_assertion is not a well-formed JWT");
        let mut parts = assertion.split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let header = b64_json(h64).ok_or_else(malformed)?;
        let claims = b64_json(p64).ok_or_else(malformed)?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s64)
            .map_err(|_| malformed())?;
        let alg = header
            .get("alg")
            .and_then(|v| v.as_str())
            .ok_or_else(malformed)?;
        check_header(&header, alg)?;
        Ok(Self {
            signed: &assertion[..h64.len() + 1 + p64.len()],
            alg: alg.to_owned(),
            kid: header
                .get("kid")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            claims,
            signature,
        })
    }

    /// The client it is about: `iss` and `sub` both, and the body's
    /// `client_id` if given.
    fn client_id(&self, body: &BodyClientAuth) -> Result<&str, OAuthError> {
        let iss = self.claims.get("iss").and_then(|v| v.as_str());
        let sub = self.claims.get("sub").and_then(|v| v.as_str());
        let client_id = match (iss, sub) {
            (Some(i), Some(s)) if i == s => s,
            _ => {
                return Err(OAuthError::invalid_client(
                    "client assertion iss and sub must both be the client_id",
                ));
            }
        };
        if body.client_id.as_deref().is_some_and(|b| b != client_id) {
            return Err(OAuthError::invalid_client(
                "client_id differs from the client assertion's subject",
            ));
        }
        Ok(client_id)
    }

    fn check_signature(&self, keys: &KeySet) -> Result<(), OAuthError> {
        let alg = self.alg.as_str();
        if !keys
            .candidates(self.kid.as_deref(), alg)
            .any(|k| k.verify(alg, self.signed.as_bytes(), &self.signature))
        {
            return Err(OAuthError::invalid_client(
                "client assertion signature does not verify with the client's keys",
            ));
        }
        Ok(())
    }

    /// `exp` present, not past and at most five minutes ahead; `nbf` and
    /// `iat` not in the future (all with [`LEEWAY_SECS`]). Returns `exp`.
    fn check_times(&self, now: UnixTime) -> Result<UnixTime, OAuthError> {
        let exp = numeric(&self.claims, "exp")
            .ok_or_else(|| OAuthError::invalid_client("client assertion has no exp"))?;
        if exp + LEEWAY_SECS < now {
            return Err(OAuthError::invalid_client("client assertion has expired"));
        }
        if exp > now + MAX_ASSERTION_LIFETIME_SECS + LEEWAY_SECS {
            return Err(OAuthError::invalid_client(
                "client assertion exp is too far in the future (at most 5 minutes)",
            ));
        }
        if numeric(&self.claims, "nbf").is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(OAuthError::invalid_client(
                "client assertion is not yet valid",
            ));
        }
        if numeric(&self.claims, "iat").is_some_and(|iat| iat > now + LEEWAY_SECS) {
            return Err(OAuthError::invalid_client(
                "client assertion iat is in the future",
            ));
        }
        Ok(exp)
    }

    fn check_audience(&self, issuer: &str) -> Result<(), OAuthError> {
        if !audience_is_exactly(self.claims.get("aud"), issuer) {
            return Err(OAuthError::invalid_client(format!(
                "client assertion aud must be the issuer {issuer} (one value, not the token endpoint)"
            )));
        }
        Ok(())
    }
}

/// The header rules beyond `alg` being present: an algorithm client keys
/// may use, no critical parameters, a `typ` (if any) of a client
/// authentication JWT.
fn check_header(header: &Claims, alg: &str) -> Result<(), OAuthError> {
    if !crate::cimd::jwks::ALGORITHMS.contains(&alg) {
        return Err(OAuthError::invalid_client(format!(
            "client assertion algorithm must be one of {}",
            crate::cimd::jwks::ALGORITHMS.join(", ")
        )));
    }
    if header.contains_key("crit") {
        return Err(OAuthError::invalid_client(
            "client assertions with critical header parameters are not supported",
        ));
    }
    if let Some(typ) = header.get("typ") {
        let ok = typ.as_str().is_some_and(|t| {
            t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("client-authentication+jwt")
        });
        if !ok {
            return Err(OAuthError::invalid_client(
                "client assertion typ must be JWT or client-authentication+jwt",
            ));
        }
    }
    Ok(())
}

/// The client's public keys: its registered `jwks`, or its `jwks_uri`
/// fetched through the JWKS cache (`kid` may force a refetch).
async fn client_keys(
    state: &Authority,
    client: &Client,
    kid: Option<&str>,
) -> Result<Arc<KeySet>, OAuthError> {
    if let Some(v) = &client.metadata.jwks {
        Ok(Arc::new(crate::cimd::jwks::parse(v).map_err(|why| {
            OAuthError::invalid_client(format!("the client's jwks is unusable: {why}"))
        })?))
    } else if let Some(uri) = &client.metadata.jwks_uri {
        let uri = url::Url::parse(uri)
            .map_err(|_| OAuthError::invalid_client("the client's jwks_uri is not a URL"))?;
        let cfg = &state.settings.raw.cimd;
        state
            .client_services
            .jwks
            .keys(&state.client_services.fetcher, &uri, kid, |age, nc| {
                crate::cimd::cache_ttl(cfg, age, nc)
            })
            .await
            .map_err(|e| OAuthError::invalid_client(e.to_string()))
    } else {
        Err(OAuthError::invalid_client("the client has no keys"))
    }
}

/// Spends the assertion's `jti` (1-256 characters) for this client until
/// the assertion expires: a replay is refused.
async fn spend_jti(
    state: &Authority,
    client_id: &str,
    claims: &Claims,
    exp: UnixTime,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let jti = claims
        .get("jti")
        .and_then(|v| v.as_str())
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| OAuthError::invalid_client("client assertion needs a jti"))?;
    let fresh = state
        .store
        .use_nonce(
            &format!(
                "client_assertion:{}",
                secret::hash(&format!("{client_id}\n{jti}"))
            ),
            exp + LEEWAY_SECS,
            now,
        )
        .await
        .map_err(crate::StoreFailure)?;
    if !fresh {
        return Err(OAuthError::invalid_client(
            "client assertion was already used (jti replayed)",
        ));
    }
    Ok(())
}
