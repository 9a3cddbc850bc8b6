//! The RFC 9728 protected resource metadata endpoint.

use super::resource::ProtectedResource;
use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

fn json_response(json: Bytes) -> Response {
    let mut r = Response::new(Body::from(json));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

fn preflight() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

impl ProtectedResource {
    /// A router serving the metadata at the path-inserted location
    /// (`/.well-known/oauth-protected-resource/mcp` for `…/mcp`) and, unless
    /// turned off, at the root. Merge it into the application's router;
    /// the auth layer lets these paths through unauthenticated.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let json = Bytes::from(self.inner.metadata_json.clone());
        let route = move || {
            let json = json.clone();
            get(move || {
                let json = json.clone();
                async move { json_response(json) }
            })
            .options(|| async { preflight() })
        };
        let path = self.inner.metadata_path.as_str();
        let mut router = Router::new().route(path, route());
        if self.inner.metadata_at_root && path != crate::METADATA_WELL_KNOWN {
            router = router.route(crate::METADATA_WELL_KNOWN, route());
        }
        router
    }
}
