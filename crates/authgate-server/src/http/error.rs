//! The one place where protocol errors become HTTP responses
//! (RFC 6749 §5.2, RFC 7009, RFC 7662, RFC 7591).

use authgate_core::{ErrorCode, OAuthError};
use authgate_store::StoreError;

pub use authgate_authority::StoreFailure;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An OAuth error on its way out, with how the client authenticated (so
/// `invalid_client` can carry the right `WWW-Authenticate`).
#[derive(Debug)]
pub struct ApiError {
    pub error: OAuthError,
    pub used_basic_auth: bool,
}

impl ApiError {
    pub fn with_basic(mut self, basic: bool) -> Self {
        self.used_basic_auth = basic;
        self
    }
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            used_basic_auth: false,
        }
    }
}

impl From<authgate_core::random::RandomError> for ApiError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        OAuthError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        OAuthError::from(StoreFailure(e)).into()
    }
}

pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!("authgate_oauth_errors_total", "error" => self.error.code.as_str())
            .increment(1);
        let status = status_for(self.error.code);
        let body = serde_json::json!({
            "error": self.error.code.as_str(),
            "error_description": self.error.description,
        });
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        super::cache::forbid_caching(h);
        if self.error.code == ErrorCode::InvalidClient {
            let v = if self.used_basic_auth {
                r#"Basic realm="authgate", charset="UTF-8""#
            } else {
                r#"Basic realm="authgate""#
            };
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        resp
    }
}

/// JSON already written out (the token endpoint's success body), with
/// `Cache-Control: no-store`.
pub fn no_store_json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    // What axum::Json sets, so both paths answer alike.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    super::cache::forbid_caching(h);
    resp
}

/// JSON with `Cache-Control: no-store` (token, introspection, registration).
pub fn no_store_json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    super::cache::forbid_caching(resp.headers_mut());
    resp
}
