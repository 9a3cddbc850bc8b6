//! Protect an MCP server with OAuth 2.1 access tokens.
//!
//! (Crate docs are completed below.)

mod claims;
mod error;
mod fetch;
mod jwk;
mod jwt;
mod keys;
mod url;
mod validator;

#[cfg(feature = "axum")]
mod middleware;
#[cfg(feature = "rmcp")]
mod rmcp;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "axum")]
pub use middleware::{
    AuthLayer, AuthService, ChallengeInfo, ProtectedResource, ProtectedResourceBuilder,
    RequireScopes, RequireScopesLayer, ToolScopes, ToolScopesService, bearer_token, error_response,
    require_scopes,
};

pub use claims::{Claims, ScopeImplications};
pub use error::{ConfigError, InvalidReason, ValidationError};
pub use jwk::Algorithm;
pub use validator::{Validator, ValidatorBuilder};

/// The validated claims of the current request, as the auth layer puts
/// them into the request extensions. An axum extractor (feature `axum`) and
/// an rmcp tool argument (feature `rmcp`); dereferences to [`Claims`].
#[derive(Clone, Debug)]
pub struct AuthClaims(pub std::sync::Arc<Claims>);

impl std::ops::Deref for AuthClaims {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

/// The RFC 9728 well-known path prefix.
pub const METADATA_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
