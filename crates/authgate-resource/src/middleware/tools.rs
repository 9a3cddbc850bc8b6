//! Per-tool scopes for MCP: a layer that reads the JSON-RPC body of a POST,
//! finds `tools/call` requests and refuses those whose tool needs a scope
//! the token lacks — with an HTTP 403 challenge the client can act on,
//! before the MCP server sees the request.

use super::scopes::check;
use crate::claims::Claims;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The scopes each MCP tool needs. Also a tower layer (put it inside the
/// [`AuthLayer`](super::layer::AuthLayer), around the MCP service):
///
/// ```
/// use authgate_resource::ToolScopes;
/// let tools = ToolScopes::new()
///     .tool("get_forecast", ["weather:read"])
///     .tool("set_alert", ["weather:write"]);
/// assert_eq!(tools.required("set_alert"), ["weather:write"]);
/// assert!(tools.required("unknown").is_empty());
/// ```
///
/// For a `POST` whose body is a `tools/call` request (or a JSON-RPC batch
/// holding some), the layer looks the tool up and answers 403
/// `insufficient_scope` when the caller's token lacks a scope. Bodies are
/// read up to [`max_body_bytes`](Self::max_body_bytes) (413 beyond) and
/// handed on unchanged. Unknown tools need [`default_scopes`](Self::default_scopes).
#[derive(Clone, Debug)]
pub struct ToolScopes {
    map: Arc<HashMap<String, Vec<String>>>,
    default: Arc<[String]>,
    max_body: usize,
}

impl Default for ToolScopes {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolScopes {
    /// No tool needs a scope yet; bodies capped at 4 MiB.
    pub fn new() -> Self {
        Self {
            map: Arc::default(),
            default: Arc::new([]),
            max_body: 4 * 1024 * 1024,
        }
    }

    /// Declares the scopes `tool` needs.
    pub fn tool<I, S>(mut self, tool: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Arc::make_mut(&mut self.map)
            .insert(tool.into(), scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scopes a tool missing from the map needs (default none).
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Largest request body read (default 4 MiB).
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }

    /// The scopes `tool` needs.
    pub fn required(&self, tool: &str) -> &[String] {
        self.map.get(tool).map_or(&self.default[..], |v| &v[..])
    }

    /// Whether `claims` may call `tool` (implied scopes count).
    pub fn allows(&self, claims: &Claims, tool: &str) -> bool {
        claims.has_scopes(self.required(tool))
    }

    /// The scopes the tool calls in a JSON-RPC body need (union, in order).
    /// Bodies that are not JSON pass: the MCP server refuses them itself.
    fn required_for_body(&self, body: &[u8]) -> Vec<String> {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Vec::new();
        };
        let messages = match &value {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out: Vec<String> = Vec::new();
        for m in messages {
            if m.get("method").and_then(|v| v.as_str()) != Some("tools/call") {
                continue;
            }
            let name = m
                .get("params")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str());
            let Some(name) = name else { continue };
            for s in self.required(name) {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}

impl<S> tower_layer::Layer<S> for ToolScopes {
    type Service = ToolScopesService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ToolScopesService {
            inner,
            scopes: self.clone(),
        }
    }
}

/// The service made by the [`ToolScopes`] layer.
#[derive(Clone, Debug)]
pub struct ToolScopesService<S> {
    inner: S,
    scopes: ToolScopes,
}

fn too_large() -> Response {
    let mut r = Response::new(Body::from(
        r#"{"error":"invalid_request","error_description":"The request body is too large"}"#,
    ));
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl<S> tower_service::Service<Request<Body>> for ToolScopesService<S>
where
    S: tower_service::Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.method() != Method::POST {
            return Box::pin(async move { Ok(inner.call(req).await.into_response()) });
        }
        // Fail closed: a POST that reached here unauthenticated is refused.
        if let Some(refusal) = check(&req, &[]) {
            return Box::pin(std::future::ready(Ok(refusal)));
        }
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes: Bytes = match axum::body::to_bytes(body, scopes.max_body).await {
                Ok(b) => b,
                Err(_) => return Ok(too_large()),
            };
            let req = Request::from_parts(parts, Body::from(bytes.clone()));
            let required = scopes.required_for_body(&bytes);
            if !required.is_empty()
                && let Some(refusal) = check(&req, &required)
            {
                return Ok(refusal);
            }
            Ok(inner.call(req).await.into_response())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tool_calls_in_single_and_batch_bodies() {
        let t = ToolScopes::new()
            .tool("read", ["r"])
            .tool("write", ["w"])
            .default_scopes(["d"]);
        let one = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","arguments":{}}}"#;
        assert_eq!(t.required_for_body(one), ["w"]);
        let batch = br#"[{"method":"tools/call","params":{"name":"read"}},{"method":"tools/call","params":{"name":"write"}},{"method":"tools/call","params":{"name":"read"}}]"#;
        assert_eq!(t.required_for_body(batch), ["r", "w"]);
        let other = br#"{"method":"tools/list","params":{"name":"write"}}"#;
        assert!(t.required_for_body(other).is_empty());
        let unknown = br#"{"method":"tools/call","params":{"name":"nope"}}"#;
        assert_eq!(t.required_for_body(unknown), ["d"]);
        // Duplicate keys: the last one wins, as in the MCP server's parser.
        let dup = br#"{"method":"tools/call","params":{"name":"read","name":"write"}}"#;
        assert_eq!(t.required_for_body(dup), ["w"]);
        assert!(t.required_for_body(b"not json").is_empty());
    }
}
