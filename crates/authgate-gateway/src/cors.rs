//! CORS for browser-based MCP clients. Preflights (`OPTIONS`) on an
//! upstream path are answered by the gateway without a token; answers to
//! allowed origins carry `Access-Control-Allow-Origin` and expose the
//! headers a client must read (`WWW-Authenticate` to find the
//! authorization server, `Mcp-Session-Id`). No origin is allowed unless
//! `cors_allowed_origins` names it (or is `["*"]`): then no CORS header is
//! sent at all. The metadata documents and the JWKS are public and always
//! carry `Access-Control-Allow-Origin: *`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

const ALLOW_METHODS: &str = "POST, GET, DELETE";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";
const EXPOSE_HEADERS: &str = "WWW-Authenticate, Mcp-Session-Id";
/// How long a browser may cache a preflight (seconds).
const MAX_AGE: &str = "600";

/// The allowed origins of the gateway.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    /// `origins` as checked by the configuration (`*` or exact origins).
    pub fn new(origins: &[String]) -> Self {
        Self {
            any: origins.iter().any(|o| o == "*"),
            origins: origins.to_vec(),
        }
    }

    /// The `Access-Control-Allow-Origin` for a request from `origin`.
    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let o = origin?;
        let text = o.to_str().ok()?;
        self.origins.iter().any(|a| a == text).then(|| o.clone())
    }

    /// Adds the CORS headers for `origin` to an upstream path's answer.
    pub fn decorate(&self, origin: Option<&HeaderValue>, h: &mut HeaderMap) {
        // The gateway decides CORS, not the upstream.
        for name in [
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
        ] {
            h.remove(name);
        }
        if !self.any && !self.origins.is_empty() {
            // The answer depends on the Origin: caches must know.
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allow) = self.allow(origin) else {
            return;
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }

    /// The answer to a preflight on an upstream path: 204, with the CORS
    /// headers only for an allowed origin.
    pub fn preflight(&self, origin: Option<&HeaderValue>) -> Response {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        self.decorate(origin, h);
        if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
        }
        r
    }
}

/// Marks a public document (`GET`) or answers its preflight: any origin.
pub fn public(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The preflight of a public document.
pub async fn public_preflight() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    public(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    r
}
