//! The upstream request and response: which headers cross the gateway,
//! the caller assertion that replaces the caller's token, and the failures
//! (timeout, unreachable) as JSON-RPC errors naming the upstream.

use crate::jsonrpc::{self, code};
use crate::state::{Route, Shared};
use authgate_resource::Claims;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

pub const AUTHGATE_CALLER: &str = "authgate-caller";
pub const AUTHGATE_SUB: &str = "authgate-sub";
pub const AUTHGATE_CLIENT_ID: &str = "authgate-client-id";

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the framing headers, which the
/// gateway sets itself: never copied across.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Request headers never forwarded: the caller's credentials (no token
/// passthrough), the client's `Host`, anything that could pass for the
/// gateway's own `Authgate-*` headers, and forwarding claims a client
/// could forge. `Accept-Encoding` is dropped so answers arrive
/// uncompressed (the gateway may have to read a list answer).
const REQUEST_DROPPED: &[&str] = &[
    "authorization",
    "cookie",
    "host",
    "accept-encoding",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// Whether `name` may cross the gateway (either way); `listed` are the
/// headers the message's `Connection` names (also hop-by-hop).
fn crosses(name: &HeaderName, listed: &[String]) -> bool {
    let n = name.as_str();
    !HOP_BY_HOP.contains(&n) && !listed.iter().any(|l| l == n)
}

fn connection_listed(h: &HeaderMap) -> Vec<String> {
    h.get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The headers of the upstream request.
fn request_headers(route: &Route, s: &Shared, from: &HeaderMap, claims: &Claims) -> HeaderMap {
    let listed = connection_listed(from);
    let mut out = HeaderMap::with_capacity(from.len() + 4);
    for (k, v) in from {
        let n = k.as_str();
        if crosses(k, &listed) && !REQUEST_DROPPED.contains(&n) && !n.starts_with("authgate-") {
            out.append(k.clone(), v.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&route.upstream_authority) {
        out.insert(header::HOST, v);
    }
    if let Some(jwt) = s
        .signer
        .caller_jwt(&route.caller_iss, route.up.upstream_url.as_str(), claims)
        .and_then(|j| HeaderValue::from_str(&j).ok())
    {
        out.insert(AUTHGATE_CALLER, jwt);
    }
    // Convenience for logs; an upstream trusts them only when the
    // assertion verifies.
    for (name, value) in [
        (AUTHGATE_SUB, &claims.sub),
        (AUTHGATE_CLIENT_ID, &claims.client_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    }
    out
}

/// Copies the response headers that may cross back.
pub fn strip_response_headers(h: &mut HeaderMap) {
    let listed = connection_listed(h);
    let drop: Vec<HeaderName> = h.keys().filter(|k| !crosses(k, &listed)).cloned().collect();
    for k in drop {
        h.remove(k);
    }
}

/// How forwarding failed.
pub enum Failure {
    Timeout,
    Unreachable,
    /// An answer the gateway had to read (a list to filter) but could not.
    BadAnswer,
}

impl Failure {
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::Timeout => "upstream_timeout",
            Failure::Unreachable => "upstream_unreachable",
            Failure::BadAnswer => "upstream_bad_answer",
        }
    }

    /// 504 or 502 with a JSON-RPC error naming the upstream.
    pub fn response(&self, route: &Route, s: &Shared, id: Value) -> Response {
        let name = &route.up.name;
        match self {
            Failure::Timeout => jsonrpc::error(
                StatusCode::GATEWAY_TIMEOUT,
                id,
                code::UPSTREAM,
                &format!(
                    "upstream {name} did not answer within {} ms",
                    s.timeout.as_millis()
                ),
            ),
            Failure::Unreachable => jsonrpc::error(
                StatusCode::BAD_GATEWAY,
                id,
                code::UPSTREAM,
                &format!("upstream {name} is unreachable"),
            ),
            Failure::BadAnswer => jsonrpc::error(
                StatusCode::BAD_GATEWAY,
                id,
                code::UPSTREAM,
                &format!("upstream {name} sent an answer the gateway cannot read"),
            ),
        }
    }
}

/// Sends the request upstream and waits (bounded) for its response
/// headers. The body is returned unread: streams pass through as they come.
pub async fn send(
    s: &Shared,
    route: &Route,
    method: axum::http::Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    claims: &Claims,
) -> Result<hyper::Response<hyper::body::Incoming>, Failure> {
    let mut target = route.up.upstream_url.clone();
    target.set_query(uri.query());
    let Ok(target) = target.as_str().parse::<Uri>() else {
        return Err(Failure::Unreachable);
    };
    let mut req = Request::new(body);
    *req.method_mut() = method;
    *req.uri_mut() = target;
    *req.headers_mut() = request_headers(route, s, headers, claims);
    match tokio::time::timeout(s.timeout, s.request(req)).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => {
            tracing::warn!(upstream = %route.up.name, error = %e, "upstream request failed");
            Err(Failure::Unreachable)
        }
        Ok(Ok(resp)) => {
            route.mark_answered();
            Ok(resp)
        }
    }
}
