//! The authentication layer: every request but the metadata needs a valid
//! bearer token.

use super::challenge::{ChallengeInfo, error_response};
use super::resource::ProtectedResource;
use crate::AuthClaims;
use crate::error::ValidationError;
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Extracts the bearer token from `Authorization` (RFC 6750 §2.1).
///
/// * no header, or another scheme (`Basic …`) → [`ValidationError::MissingToken`]
///   (401 without an error code, RFC 6750 §3.1);
/// * several `Authorization` headers, `Bearer` with no token, a token with
///   characters outside `b64token` (e.g. two tokens) →
///   [`ValidationError::InvalidRequest`] (400).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ValidationError> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = all.next() else {
        return Err(ValidationError::MissingToken);
    };
    if all.next().is_some() {
        return Err(ValidationError::InvalidRequest);
    }
    parse_authorization(value)
}

/// The token of one `Authorization` value (see [`bearer_token`]).
fn parse_authorization(value: &HeaderValue) -> Result<&str, ValidationError> {
    let s = value
        .to_str()
        .map_err(|_| ValidationError::InvalidRequest)?;
    let (scheme, rest) = s.split_once(' ').unwrap_or((s, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ValidationError::MissingToken);
    }
    let token = rest.trim_matches(' ');
    if !is_b64token(token) {
        return Err(ValidationError::InvalidRequest);
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// A CORS preflight: browsers send it without credentials.
fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Tower layer authenticating every request with the resource's
/// [`Validator`](crate::Validator).
///
/// * The metadata paths (`/.well-known/oauth-protected-resource…`) and
///   CORS preflights pass through untouched.
/// * Any other request, whatever its method, needs a valid token: 401
///   with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`
///   (plus `error="invalid_token"` when a token was presented), 400 for a
///   malformed `Authorization` header, 503 when no key could ever be
///   fetched.
/// * On success the claims go into the request extensions as
///   [`AuthClaims`], with the resource's [`ChallengeInfo`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    resource: ProtectedResource,
}

impl AuthLayer {
    /// Same as [`ProtectedResource::layer`].
    pub fn new(resource: ProtectedResource) -> Self {
        Self { resource }
    }
}

impl ProtectedResource {
    /// The tower layer that authenticates every request (see [`AuthLayer`]).
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone())
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            resource: self.resource.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    resource: ProtectedResource,
}

impl<S, B> tower_service::Service<Request<B>> for AuthService<S>
where
    S: tower_service::Service<Request<B>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if self.resource.inner.is_metadata_path(req.uri().path()) || is_preflight(&req) {
            return Box::pin(async move { Ok(inner.call(req).await.into_response()) });
        }
        let resource = self.resource.clone();
        // Exactly one well-formed Authorization value: clone it (reference
        // counted, cheap) so the request can move into the future.
        let value = match bearer_token(req.headers()) {
            Ok(_) => req.headers().get(header::AUTHORIZATION).cloned(),
            Err(e) => {
                let info = resource.challenge();
                return Box::pin(std::future::ready(Ok(error_response(&e, Some(info), None))));
            }
        };
        Box::pin(async move {
            let info = resource.challenge().clone();
            let token = match value.as_ref().map(parse_authorization) {
                Some(Ok(t)) => t,
                _ => {
                    return Ok(error_response(
                        &ValidationError::InvalidRequest,
                        Some(&info),
                        None,
                    ));
                }
            };
            match resource.validator().validate(token).await {
                Ok(claims) => {
                    let ext = req.extensions_mut();
                    ext.insert(AuthClaims(claims));
                    ext.insert(info);
                    Ok(inner.call(req).await.into_response())
                }
                Err(e) => Ok(error_response(&e, Some(&info), None)),
            }
        })
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuthClaims {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthClaims>()
            .cloned()
            .ok_or_else(|| {
                let info = parts.extensions.get::<std::sync::Arc<ChallengeInfo>>();
                error_response(&ValidationError::MissingToken, info.map(|i| &**i), None)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(values: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in values {
            m.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(
            bearer_token(&h(&["Bearer abc.def-_~+/=="])),
            Ok("abc.def-_~+/==")
        );
        assert_eq!(bearer_token(&h(&["bearer  abc"])), Ok("abc"));
        assert_eq!(bearer_token(&h(&[])), Err(ValidationError::MissingToken));
        assert_eq!(
            bearer_token(&h(&["Basic dXNlcjpwYXNz"])),
            Err(ValidationError::MissingToken)
        );
        assert_eq!(
            bearer_token(&h(&["Negotiate"])),
            Err(ValidationError::MissingToken)
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer a=b",
            "Bearer ==",
            "Bearer \"a\"",
        ] {
            assert_eq!(
                bearer_token(&h(&[bad])),
                Err(ValidationError::InvalidRequest),
                "{bad}"
            );
        }
        assert_eq!(
            bearer_token(&h(&["Bearer a", "Bearer b"])),
            Err(ValidationError::InvalidRequest)
        );
    }
}
