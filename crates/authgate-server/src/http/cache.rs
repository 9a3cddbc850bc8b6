//! Cache headers for answers that must not be stored.

use axum::http::{HeaderMap, HeaderValue, header};

/// RFC 6749 §5.1: answers that carry tokens or credentials (and their
/// errors) must not be cached; so must pages and answers about a signed-in
/// user. `Pragma` for HTTP/1.0 caches, as RFC 6749 §5.1 shows.
pub fn forbid_caching(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
