//! `require_scopes`: a route layer answering 403 `insufficient_scope`.

use super::challenge::{ChallengeInfo, error_response};
use crate::AuthClaims;
use crate::error::ValidationError;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A route layer requiring every scope in `scopes` (implied scopes count).
/// Put it inside (after) the [`AuthLayer`](super::layer::AuthLayer):
///
/// ```no_run
/// # use axum::{Router, routing::post};
/// use authgate_resource::require_scopes;
/// let admin: Router = Router::new()
///     .route("/alerts", post(|| async { "ok" }))
///     .route_layer(require_scopes(&["weather:write"]));
/// ```
///
/// A token lacking one gets 403 with exactly one challenge:
/// `Bearer error="insufficient_scope", scope="<granted ∪ required>",
/// resource_metadata="…", error_description="…"`. A request that reached it
/// without claims (no auth layer in front) gets 401.
pub fn require_scopes<S: AsRef<str>>(scopes: &[S]) -> RequireScopesLayer {
    RequireScopesLayer {
        scopes: scopes.iter().map(|s| s.as_ref().to_owned()).collect(),
    }
}

/// See [`require_scopes`].
#[derive(Clone, Debug)]
pub struct RequireScopesLayer {
    scopes: Arc<[String]>,
}

impl<S> tower_layer::Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            scopes: self.scopes.clone(),
        }
    }
}

/// The service made by [`RequireScopesLayer`].
#[derive(Clone, Debug)]
pub struct RequireScopes<S> {
    inner: S,
    scopes: Arc<[String]>,
}

/// The refusal for a request needing `required`, or `None` to let it pass.
pub(crate) fn check<B>(req: &Request<B>, required: &[String]) -> Option<Response> {
    let ext = req.extensions();
    let info = ext.get::<Arc<ChallengeInfo>>().map(|i| &**i);
    let Some(AuthClaims(claims)) = ext.get::<AuthClaims>() else {
        return Some(error_response(&ValidationError::MissingToken, info, None));
    };
    if claims.has_scopes(required) {
        return None;
    }
    let err = ValidationError::InsufficientScope {
        required: required.to_vec(),
    };
    Some(error_response(&err, info, Some(claims)))
}

impl<S, B> tower_service::Service<Request<B>> for RequireScopes<S>
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(refusal) = check(&req, &self.scopes) {
            return Box::pin(std::future::ready(Ok(refusal)));
        }
        let fut = self.inner.call(req);
        Box::pin(async move { Ok(fut.await.into_response()) })
    }
}
