//! rmcp integration (feature `rmcp`): the caller's claims as a tool
//! argument, and `tools/list` filtered by scope.
//!
//! rmcp's streamable HTTP service puts the request's
//! [`http::request::Parts`](axum::http::request::Parts) into every request
//! context; the [`AuthLayer`](crate::AuthLayer) put the claims into those
//! parts' extensions. The extractor reads them from there.

use crate::{AuthClaims, ToolScopes};
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::model::Tool;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

impl AuthClaims {
    /// The claims of the request `ctx` belongs to, when the auth layer
    /// validated a token for it.
    pub fn from_request_context(ctx: &RequestContext<RoleServer>) -> Option<Self> {
        ctx.extensions
            .get::<axum::http::request::Parts>()?
            .extensions
            .get::<AuthClaims>()
            .cloned()
    }
}

/// A tool function takes `claims: AuthClaims` as an argument:
///
/// ```no_run
/// use authgate_resource::AuthClaims;
/// use rmcp::{tool, tool_router, handler::server::router::tool::ToolRouter};
///
/// #[derive(Clone)]
/// struct Server { tool_router: ToolRouter<Self> }
///
/// #[tool_router]
/// impl Server {
///     #[tool(description = "Who am I?")]
///     async fn whoami(&self, claims: AuthClaims) -> String {
///         format!("{} via {}", claims.sub, claims.client_id)
///     }
/// }
/// ```
///
/// Without claims (the server is not behind the auth layer) the call fails
/// with a JSON-RPC "invalid request" error.
impl<C: AsRequestContext> FromContextPart<C> for AuthClaims {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        AuthClaims::from_request_context(context.as_request_context()).ok_or_else(|| {
            ErrorData::invalid_request("the request carries no validated access token", None)
        })
    }
}

impl ToolScopes {
    /// Keeps the tools the caller of `ctx` may call (for `tools/list`, so a
    /// client is not offered a tool its token cannot use). Without claims
    /// no tool is listed.
    pub fn visible_tools(&self, ctx: &RequestContext<RoleServer>, tools: Vec<Tool>) -> Vec<Tool> {
        let Some(claims) = AuthClaims::from_request_context(ctx) else {
            return Vec::new();
        };
        tools
            .into_iter()
            .filter(|t| self.allows(&claims, &t.name))
            .collect()
    }
}
