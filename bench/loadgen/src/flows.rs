//! What each worker sends, and how every answer is checked.
//!
//! A flow builds the next request and judges its answer; an error is a short
//! static label (`status_400`, `shape`, `jwt_claims`, ...) counted per kind.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;

use crate::authcode::AuthCode;
use crate::conn::{Conn, Endpoint};
use crate::mcp::McpCall;

pub type Check = Result<(), &'static str>;

/// `application/x-www-form-urlencoded` value encoding.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

pub fn basic_auth(client_id: &str, client_secret: &str) -> Result<HeaderValue, String> {
    // RFC 6749 §2.3.1: the id and secret are form-encoded before base64.
    let pair = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
        .map_err(|e| format!("client credentials: {e}"))
}

fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "status_200_unexpected",
        201 => "status_201_unexpected",
        400 => "status_400",
        401 => "status_401",
        403 => "status_403",
        404 => "status_404",
        405 => "status_405",
        409 => "status_409",
        415 => "status_415",
        422 => "status_422",
        429 => "status_429",
        500 => "status_500",
        502 => "status_502",
        503 => "status_503",
        s if s < 500 => "status_4xx_other",
        _ => "status_5xx_other",
    }
}

fn expect_status(got: StatusCode, want: &[u16]) -> Check {
    if want.contains(&got.as_u16()) {
        Ok(())
    } else {
        Err(status_label(got))
    }
}

/// The parts of a token response every scenario looks at.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: Option<serde_json::Value>,
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    pub fn parse(status: StatusCode, body: &[u8]) -> Result<Self, &'static str> {
        expect_status(status, &[200])?;
        let token: TokenResponse = serde_json::from_slice(body).map_err(|_| "shape")?;
        if token.access_token.is_empty() || !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err("shape");
        }
        if let Some(expires_in) = &token.expires_in
            && expires_in.as_u64().is_none_or(|s| s == 0)
        {
            return Err("shape");
        }
        Ok(token)
    }
}

/// What an access token must say when it is a JWT.
#[derive(Clone, Debug)]
pub struct JwtExpectation {
    pub alg: String,
    pub audience: String,
    pub scope: Option<String>,
}

fn decode_part(part: &str) -> Option<serde_json::Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

impl JwtExpectation {
    /// Decodes (does not verify) the header and claims, and checks `alg`,
    /// `aud` and `scope`. Signature verification is the SDK's business and is
    /// measured by its own micro-benchmark.
    pub fn check(&self, jwt: &str) -> Check {
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("jwt_shape");
        };
        let (Some(header), Some(claims)) = (decode_part(h), decode_part(p)) else {
            return Err("jwt_shape");
        };
        if header["alg"].as_str() != Some(self.alg.as_str()) {
            return Err("jwt_alg");
        }
        let aud_ok = match &claims["aud"] {
            serde_json::Value::String(a) => *a == self.audience,
            serde_json::Value::Array(list) => list
                .iter()
                .any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err("jwt_aud");
        }
        if let Some(scope) = &self.scope {
            let granted = claims["scope"].as_str().unwrap_or("");
            if !granted.split(' ').any(|s| s == scope) {
                return Err("jwt_scope");
            }
        }
        Ok(())
    }
}

/// Checks every JWT for the first few answers of a worker, then every 16th:
/// the shape of every answer is checked regardless.
fn sample_jwt(count: u64) -> bool {
    count < 16 || count.is_multiple_of(16)
}

fn form_request(
    endpoint: &Endpoint,
    auth: Option<&HeaderValue>,
    body: String,
) -> Result<Request<Full<Bytes>>, &'static str> {
    let mut builder = endpoint
        .request(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth.clone());
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| "request_unbuildable")
}

pub struct ClientCredentials {
    pub endpoint: Endpoint,
    pub auth: HeaderValue,
    pub body: Bytes,
    pub jwt: Option<JwtExpectation>,
    pub answered: u64,
    pub distinct: bool,
    pub hasher: RandomState,
    pub last_token_hash: Option<u64>,
}

impl ClientCredentials {
    pub fn body(resource: Option<&str>, scope: Option<&str>) -> Bytes {
        let mut body = "grant_type=client_credentials".to_owned();
        if let Some(resource) = resource {
            body.push_str(&format!("&resource={}", form_encode(resource)));
        }
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={}", form_encode(scope)));
        }
        Bytes::from(body)
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, &'static str> {
        self.endpoint
            .request(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::AUTHORIZATION, self.auth.clone())
            .body(Full::new(self.body.clone()))
            .map_err(|_| "request_unbuildable")
    }

    fn check(&mut self, status: StatusCode, body: &[u8]) -> Check {
        let token = TokenResponse::parse(status, body)?;
        self.answered += 1;
        // Each answer must be a freshly issued token, not a cached one (the
        // floor, which signs nothing, is exempt: its token is static).
        if self.distinct {
            let hash = self.hasher.hash_one(&token.access_token);
            if self.last_token_hash == Some(hash) {
                return Err("access_token_repeated");
            }
            self.last_token_hash = Some(hash);
        }
        match &self.jwt {
            Some(jwt) if sample_jwt(self.answered) => jwt.check(&token.access_token),
            _ => Ok(()),
        }
    }
}

/// One refresh-token chain: each answer must carry a new refresh token, never
/// seen before, which the next request uses.
pub struct RefreshChain {
    pub endpoint: Endpoint,
    pub auth: HeaderValue,
    pub resource: Option<String>,
    pub current: String,
    pub previous: Option<String>,
    pub seen: HashSet<u64>,
    pub hasher: RandomState,
    pub rotations: u64,
    pub broken: bool,
    pub jwt: Option<JwtExpectation>,
}

impl RefreshChain {
    pub fn new(
        endpoint: Endpoint,
        auth: HeaderValue,
        resource: Option<String>,
        first: String,
        jwt: Option<JwtExpectation>,
        hasher: RandomState,
    ) -> Self {
        let mut seen = HashSet::new();
        seen.insert(hasher.hash_one(&first));
        RefreshChain {
            endpoint,
            auth,
            resource,
            current: first,
            previous: None,
            seen,
            hasher,
            rotations: 0,
            broken: false,
            jwt,
        }
    }

    pub fn request_for(&self, refresh_token: &str) -> Result<Request<Full<Bytes>>, &'static str> {
        let mut body = format!(
            "grant_type=refresh_token&refresh_token={}",
            form_encode(refresh_token)
        );
        if let Some(resource) = &self.resource {
            body.push_str(&format!("&resource={}", form_encode(resource)));
        }
        form_request(&self.endpoint, Some(&self.auth), body)
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, &'static str> {
        self.request_for(&self.current)
    }

    fn check(&mut self, status: StatusCode, body: &[u8]) -> Check {
        let outcome = self.rotate(status, body);
        if outcome.is_err() {
            // The chain's state is unknown now (the rotation may have happened
            // server-side): this worker stops and the loss is reported.
            self.broken = true;
        }
        outcome
    }

    fn rotate(&mut self, status: StatusCode, body: &[u8]) -> Check {
        let token = TokenResponse::parse(status, body)?;
        let next = token.refresh_token.ok_or("refresh_token_missing")?;
        if next == self.current {
            return Err("refresh_token_not_rotated");
        }
        if !self.seen.insert(self.hasher.hash_one(&next)) {
            return Err("refresh_token_duplicate");
        }
        if let Some(jwt) = &self.jwt
            && sample_jwt(self.rotations)
        {
            jwt.check(&token.access_token)?;
        }
        self.previous = Some(std::mem::replace(&mut self.current, next));
        self.rotations += 1;
        Ok(())
    }
}

/// RFC 7591 dynamic registration of a public client.
pub struct Register {
    pub endpoint: Endpoint,
    pub worker: usize,
    pub sent: u64,
    pub redirect_uri: String,
    pub seen: HashSet<String>,
}

impl Register {
    fn request(&mut self) -> Result<Request<Full<Bytes>>, &'static str> {
        self.sent += 1;
        let body = serde_json::json!({
            "client_name": format!("bench {}-{}", self.worker, self.sent),
            "redirect_uris": [self.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        self.endpoint
            .request(Method::POST)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| "request_unbuildable")
    }

    fn check(&mut self, status: StatusCode, body: &[u8]) -> Check {
        expect_status(status, &[201, 200])?;
        #[derive(Deserialize)]
        struct Registered {
            client_id: String,
        }
        let registered: Registered = serde_json::from_slice(body).map_err(|_| "shape")?;
        if registered.client_id.is_empty() {
            return Err("shape");
        }
        if !self.seen.insert(registered.client_id) {
            return Err("client_id_duplicate");
        }
        Ok(())
    }
}

/// RFC 7662 introspection of one live access token.
pub struct Introspect {
    pub endpoint: Endpoint,
    pub auth: HeaderValue,
    pub body: String,
}

impl Introspect {
    fn request(&self) -> Result<Request<Full<Bytes>>, &'static str> {
        form_request(&self.endpoint, Some(&self.auth), self.body.clone())
    }

    fn check(status: StatusCode, body: &[u8]) -> Check {
        expect_status(status, &[200])?;
        let answer: serde_json::Value = serde_json::from_slice(body).map_err(|_| "shape")?;
        match answer["active"].as_bool() {
            Some(true) => Ok(()),
            Some(false) => Err("introspect_inactive"),
            None => Err("shape"),
        }
    }
}

/// A plain GET of a JSON document (JWKS, metadata).
pub struct Get {
    pub endpoint: Endpoint,
    pub expect_field: Option<String>,
}

impl Get {
    fn request(&self) -> Result<Request<Full<Bytes>>, &'static str> {
        self.endpoint
            .request(Method::GET)
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| "request_unbuildable")
    }

    fn check(&self, status: StatusCode, body: &[u8]) -> Check {
        expect_status(status, &[200])?;
        let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| "shape")?;
        if !doc.is_object() {
            return Err("shape");
        }
        if let Some(field) = &self.expect_field
            && doc.get(field).is_none_or(|v| v.is_null())
        {
            return Err("field_missing");
        }
        Ok(())
    }
}

pub enum Flow {
    ClientCredentials(ClientCredentials),
    Refresh(RefreshChain),
    Register(Register),
    Introspect(Introspect),
    Get(Get),
    /// Several requests per exchange: the whole authorization code flow.
    AuthCode(Box<AuthCode>),
    /// An MCP `tools/call` (the worker's first one shakes hands first).
    Mcp(Box<McpCall>),
}

impl Flow {
    /// One unit of work on the worker's connection, checked: one request and
    /// its answer, or (authorization code) one whole flow.
    pub async fn exchange(&mut self, conn: &mut Conn, timeout: Duration) -> Check {
        // A request that cannot be built is counted like a failed exchange.
        let request = match self {
            Flow::ClientCredentials(f) => f.request(),
            Flow::Refresh(f) => f.request(),
            Flow::Register(f) => f.request(),
            Flow::Introspect(f) => f.request(),
            Flow::Get(f) => f.request(),
            Flow::AuthCode(f) => return f.run(conn, timeout).await,
            Flow::Mcp(f) => return f.run(conn, timeout).await,
        }?;
        let reply = match conn.send(request, timeout).await {
            Ok(reply) => reply,
            Err(kind) => {
                if let Flow::Refresh(chain) = self {
                    // The rotation may or may not have happened server-side.
                    chain.broken = true;
                }
                return Err(kind);
            }
        };
        let (status, body) = (reply.status, &reply.body);
        match self {
            Flow::ClientCredentials(f) => f.check(status, body),
            Flow::Refresh(f) => f.check(status, body),
            Flow::Register(f) => f.check(status, body),
            Flow::Introspect(_) => Introspect::check(status, body),
            Flow::Get(f) => f.check(status, body),
            Flow::AuthCode(_) | Flow::Mcp(_) => {
                unreachable!("authorization code flows and MCP calls run whole, above")
            }
        }
    }

    /// A flow that cannot go on after an error (a broken refresh chain).
    pub fn stopped(&self) -> bool {
        matches!(self, Flow::Refresh(chain) if chain.broken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn expectation() -> JwtExpectation {
        JwtExpectation {
            alg: "ES256".into(),
            audience: "http://127.0.0.1:19999/mcp".into(),
            scope: Some("mcp:read".into()),
        }
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode("http://a/b c"), "http%3A%2F%2Fa%2Fb+c");
        assert_eq!(form_encode("mcp:read"), "mcp%3Aread");
        assert_eq!(form_encode("A-z_0.9*"), "A-z_0.9*");
    }

    #[test]
    fn basic_auth_form_encodes_then_base64s() {
        let value = basic_auth("id:1", "s e").unwrap();
        let decoded = STANDARD
            .decode(&value.to_str().unwrap()["Basic ".len()..])
            .unwrap();
        assert_eq!(decoded, b"id%3A1:s+e");
    }

    #[test]
    fn jwt_checks_alg_audience_and_scope() {
        let e = expectation();
        let good = r#"{"aud":"http://127.0.0.1:19999/mcp","scope":"openid mcp:read"}"#;
        assert_eq!(e.check(&jwt(r#"{"alg":"ES256"}"#, good)), Ok(()));
        let as_list = r#"{"aud":["x","http://127.0.0.1:19999/mcp"],"scope":"mcp:read"}"#;
        assert_eq!(e.check(&jwt(r#"{"alg":"ES256"}"#, as_list)), Ok(()));
        assert_eq!(e.check(&jwt(r#"{"alg":"RS256"}"#, good)), Err("jwt_alg"));
        let wrong_aud = r#"{"aud":"http://127.0.0.1:19999/other","scope":"mcp:read"}"#;
        assert_eq!(
            e.check(&jwt(r#"{"alg":"ES256"}"#, wrong_aud)),
            Err("jwt_aud")
        );
        let no_scope = r#"{"aud":"http://127.0.0.1:19999/mcp","scope":"mcp:readx"}"#;
        assert_eq!(
            e.check(&jwt(r#"{"alg":"ES256"}"#, no_scope)),
            Err("jwt_scope")
        );
        assert_eq!(e.check("opaque-token"), Err("jwt_shape"));
    }

    #[test]
    fn token_response_needs_200_and_bearer() {
        let ok = br#"{"access_token":"a","token_type":"bearer","expires_in":60}"#;
        assert!(TokenResponse::parse(StatusCode::OK, ok).is_ok());
        assert_eq!(
            TokenResponse::parse(StatusCode::BAD_REQUEST, ok).err(),
            Some("status_400")
        );
        let mac = br#"{"access_token":"a","token_type":"mac"}"#;
        assert_eq!(
            TokenResponse::parse(StatusCode::OK, mac).err(),
            Some("shape")
        );
        let zero = br#"{"access_token":"a","token_type":"Bearer","expires_in":0}"#;
        assert_eq!(
            TokenResponse::parse(StatusCode::OK, zero).err(),
            Some("shape")
        );
        assert_eq!(
            TokenResponse::parse(StatusCode::OK, b"not json").err(),
            Some("shape")
        );
    }

    #[test]
    fn a_refresh_chain_refuses_an_unrotated_or_repeated_token() {
        let endpoint = Endpoint::parse("http://127.0.0.1:1/token").unwrap();
        let mut chain = RefreshChain::new(
            endpoint,
            basic_auth("c", "s").unwrap(),
            None,
            "rt0".into(),
            None,
            RandomState::new(),
        );
        let answer = |rt: &str| {
            format!(r#"{{"access_token":"a","token_type":"Bearer","refresh_token":"{rt}"}}"#)
        };
        assert_eq!(
            chain.check(StatusCode::OK, answer("rt1").as_bytes()),
            Ok(())
        );
        assert_eq!(
            (chain.current.as_str(), chain.previous.as_deref()),
            ("rt1", Some("rt0"))
        );
        assert_eq!(
            chain.check(StatusCode::OK, answer("rt0").as_bytes()),
            Err("refresh_token_duplicate")
        );
        assert!(chain.broken);
    }
}
