//! Protect an MCP server (an OAuth 2.1 *protected resource*) with access
//! tokens from any authorization server that publishes RFC 8414 / OpenID
//! Connect discovery metadata and a JWKS — authgate or another.
//!
//! What it does, per the MCP authorization specification:
//!
//! * **Validation** ([`Validator`]): RFC 9068 JWT access tokens, signature
//!   with pinned algorithms (ES256, RS256, EdDSA; never `none` or HMAC; the
//!   header's `alg` must match the key's type), `typ` = `at+jwt`, `iss`
//!   byte-equal, `aud` naming this resource (tolerant of case, default port
//!   and one trailing slash), `exp`/`nbf`/`iat` with a small leeway, size
//!   caps. Keys are parsed once; an unknown `kid` refetches the JWKS at most
//!   once per interval, by one task; known keys keep working when the
//!   authorization server is down. A verified-token cache makes repeat
//!   validations cost a hash lookup. Opaque tokens: RFC 7662 introspection,
//!   where an answer whose `token_type` is present and not an access token
//!   type (`Bearer`, `DPoP`, `access_token`, the RFC 8693 access token URN)
//!   is refused: a refresh token is never accepted. An answer without
//!   `token_type` is accepted (RFC 7662 makes it optional; authgate always
//!   sends it).
//! * **Challenges** ([`AuthLayer`], [`require_scopes`], [`ToolScopes`]): 401
//!   with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` on
//!   every method (plus `error="invalid_token"` when a token was
//!   presented), 400 for a malformed `Authorization` header, 403
//!   `insufficient_scope` with `scope` = granted ∪ required for a valid
//!   token lacking a scope — never a 401 for that, which makes clients loop.
//! * **Metadata** ([`ProtectedResource::metadata_router`]): RFC 9728 at the
//!   path-inserted well-known URL (and the root).
//! * **rmcp** (feature `rmcp`): [`AuthClaims`] as a tool argument, and
//!   per-tool scopes enforced at the HTTP layer before rmcp sees the call.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `axum` | yes | the tower layers, the metadata router, the [`AuthClaims`] axum extractor |
//! | `rmcp` | no | `FromContextPart` for [`AuthClaims`], `ToolScopes::visible_tools` |
//! | `testing` | no | [`testing::TestAuthorizationServer`]: a local stand-in AS that signs tokens |
//!
//! # An MCP server in a few lines
//!
//! ```no_run
//! use authgate_resource::{ProtectedResource, ToolScopes, Validator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::builder("https://auth.example.com", "https://mcp.example.com/mcp")
//!     .scope_implies("weather:write", ["weather:read"])
//!     .build()?;
//! let resource = ProtectedResource::builder(validator)
//!     .scopes_supported(["weather:read", "weather:write"])
//!     .baseline_scopes(["weather:read"])
//!     .resource_name("Weather")
//!     .build()?;
//! resource.validator().prefetch().await.ok(); // optional: fetch keys now
//!
//! // In a real server the route is rmcp's `StreamableHttpService`
//! // (see examples/weather-mcp).
//! let app = axum::Router::new()
//!     .route("/mcp", axum::routing::post(|| async { "mcp" }))
//!     .layer(ToolScopes::new().tool("set_alert", ["weather:write"]))
//!     .layer(resource.layer())
//!     .merge(resource.metadata_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! In a handler, [`AuthClaims`] is the caller:
//!
//! ```
//! use authgate_resource::AuthClaims;
//! async fn handler(claims: AuthClaims) -> String {
//!     format!("{} (client {}) may read: {}", claims.sub, claims.client_id,
//!             claims.has_scope("weather:read"))
//! }
//! let _route: axum::routing::MethodRouter = axum::routing::get(handler);
//! ```
//!
//! # Errors and their HTTP meaning
//!
//! ```
//! use authgate_resource::{InvalidReason, ValidationError};
//! let e = ValidationError::InvalidToken(InvalidReason::Expired);
//! assert_eq!((e.status_code(), e.error_code()), (401, Some("invalid_token")));
//! assert_eq!(ValidationError::MissingToken.error_code(), None);
//! let e = ValidationError::InsufficientScope { required: vec!["weather:write".into()] };
//! assert_eq!(e.status_code(), 403);
//! // Messages are fixed strings: never token contents or key material.
//! assert_eq!(e.to_string(), "the access token lacks a required scope");
//! ```

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

/// The README's examples, compiled by `cargo test --doc` so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The RFC 9728 well-known path prefix.
pub const METADATA_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
