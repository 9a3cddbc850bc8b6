//! HTTP integration (feature `axum`): the auth layer, `require_scopes`,
//! the MCP tool-scope layer and the RFC 9728 metadata router.

mod challenge;
mod layer;
mod metadata;
mod resource;
mod scopes;
mod tools;

pub use challenge::{ChallengeInfo, error_response};
pub use layer::{AuthLayer, AuthService, bearer_token};
pub use resource::{ProtectedResource, ProtectedResourceBuilder};
pub use scopes::{RequireScopes, RequireScopesLayer, require_scopes};
pub use tools::{ToolScopes, ToolScopesService};
