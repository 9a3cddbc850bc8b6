//! A small MCP server whose tools need different scopes, protected by
//! `authgate-resource`.
//!
//! | tool | scope |
//! |---|---|
//! | `get_forecast` | `weather:read` (also granted by `weather:write`) |
//! | `set_alert` | `weather:write` |
//! | `whoami` | any valid token |
//!
//! [`app`] builds the whole axum application: the MCP service at the
//! resource path (`/mcp`), the tool-scope layer, the auth layer and the
//! RFC 9728 metadata. The forecast data is made up (deterministic, no
//! network).

use authgate_resource::{AuthClaims, ProtectedResource, ToolScopes, Validator};
use axum::Router;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub mod behind_gateway;

pub const READ: &str = "weather:read";
pub const WRITE: &str = "weather:write";

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The authorization server's issuer, exactly as it publishes it.
    pub issuer: String,
    /// This server's canonical URL: the MCP endpoint (`…/mcp`).
    pub resource: String,
    /// Leave tools the caller's token cannot call out of `tools/list`.
    /// Off by default: a listed tool answering 403 is what lets a client
    /// step up its authorization.
    pub hide_unauthorized_tools: bool,
}

/// The scope each tool needs.
pub fn tool_scopes() -> ToolScopes {
    ToolScopes::new()
        .tool("get_forecast", [READ])
        .tool("set_alert", [WRITE])
}

/// The protected resource: validator (with `weather:write` ⇒
/// `weather:read`) and metadata.
pub fn protected_resource(
    settings: &Settings,
) -> Result<ProtectedResource, authgate_resource::ConfigError> {
    let validator = Validator::builder(&settings.issuer, &settings.resource)
        .scope_implies(WRITE, [READ])
        .build()?;
    ProtectedResource::builder(validator)
        .scopes_supported([READ, WRITE])
        .baseline_scopes([READ])
        .resource_name("Weather (authgate sample)")
        .build()
}

/// An alert someone set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: u64,
    pub city: String,
    pub condition: String,
    pub set_by: String,
}

#[derive(Debug, Default)]
struct Alerts {
    next: u64,
    by_city: HashMap<String, Vec<Alert>>,
}

/// The MCP server.
#[derive(Clone)]
pub struct WeatherServer {
    tool_router: ToolRouter<Self>,
    alerts: Arc<Mutex<Alerts>>,
    scopes: ToolScopes,
    hide_unauthorized_tools: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ForecastRequest {
    /// City name, e.g. "Lyon".
    pub city: String,
    /// Number of days, 1 to 7 (default 3).
    pub days: Option<u8>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AlertRequest {
    /// City name.
    pub city: String,
    /// What to watch for, e.g. "rain" or "frost".
    pub condition: String,
}

/// Deterministic made-up weather: the same city and day always give the
/// same forecast.
pub fn forecast(city: &str, days: u8) -> serde_json::Value {
    const SKIES: [&str; 5] = ["sunny", "partly cloudy", "cloudy", "rain", "storms"];
    let seed = city.to_lowercase().bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let days: Vec<_> = (0..days.clamp(1, 7))
        .map(|d| {
            let h = seed.wrapping_add(u32::from(d).wrapping_mul(2654435761));
            let low = (h % 15) as i32 - 2;
            json!({
                "day": d,
                "sky": SKIES[(h >> 8) as usize % SKIES.len()],
                "low_c": low,
                "high_c": low + 5 + ((h >> 16) % 10) as i32,
            })
        })
        .collect();
    json!({ "city": city, "days": days })
}

#[tool_router]
impl WeatherServer {
    pub fn new(hide_unauthorized_tools: bool) -> Self {
        Self {
            tool_router: Self::tool_router(),
            alerts: Arc::default(),
            scopes: tool_scopes(),
            hide_unauthorized_tools,
        }
    }

    #[tool(description = "Weather forecast for a city (needs weather:read)")]
    async fn get_forecast(
        &self,
        claims: AuthClaims,
        Parameters(req): Parameters<ForecastRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        require(&claims, READ)?;
        let mut f = forecast(&req.city, req.days.unwrap_or(3));
        let alerts = self.alerts.lock().map_err(|_| internal())?;
        f["alerts"] = json!(
            alerts
                .by_city
                .get(&req.city.to_lowercase())
                .cloned()
                .unwrap_or_default()
        );
        Ok(CallToolResult::structured(f))
    }

    #[tool(description = "Set a weather alert for a city (needs weather:write)")]
    async fn set_alert(
        &self,
        claims: AuthClaims,
        Parameters(req): Parameters<AlertRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        // The tool-scope layer refused already; checking again costs
        // nothing and keeps the tool safe if it is mounted without it.
        require(&claims, WRITE)?;
        let mut alerts = self.alerts.lock().map_err(|_| internal())?;
        alerts.next += 1;
        let alert = Alert {
            id: alerts.next,
            city: req.city.clone(),
            condition: req.condition,
            set_by: claims.sub.clone(),
        };
        alerts
            .by_city
            .entry(req.city.to_lowercase())
            .or_default()
            .push(alert.clone());
        Ok(CallToolResult::structured(json!(alert)))
    }

    #[tool(description = "Who the access token belongs to")]
    async fn whoami(&self, claims: AuthClaims) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::structured(json!({
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scopes": claims.scopes,
        })))
    }
}

fn require(claims: &AuthClaims, scope: &str) -> Result<(), ErrorData> {
    if claims.has_scope(scope) {
        Ok(())
    } else {
        Err(ErrorData::invalid_request(
            format!("this tool needs the {scope} permission"),
            None,
        ))
    }
}

fn internal() -> ErrorData {
    ErrorData::internal_error("internal error", None)
}

#[tool_handler]
impl ServerHandler for WeatherServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "weather-mcp",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions("Made-up weather forecasts and alerts.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.tool_router.list_all();
        Ok(ListToolsResult::with_all_items(
            if self.hide_unauthorized_tools {
                self.scopes.visible_tools(&context, tools)
            } else {
                tools
            },
        ))
    }
}

/// The MCP service (rmcp streamable HTTP, sessions) and the path it is
/// served at: the resource URL's path.
fn mcp_service(
    settings: &Settings,
) -> (
    String,
    StreamableHttpService<WeatherServer, LocalSessionManager>,
) {
    let server = WeatherServer::new(settings.hide_unauthorized_tools);
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(u) = url::Url::parse(&settings.resource)
        && let Some(h) = u.host_str()
    {
        hosts.push(h.trim_matches(['[', ']']).to_owned());
        if let Some(port) = u.port() {
            hosts.push(format!("{h}:{port}"));
        }
    }
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let path = url::Url::parse(&settings.resource)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    (path, mcp)
}

/// The whole application: `/mcp` (rmcp streamable HTTP, tool scopes,
/// authentication) and the protected resource metadata.
pub fn app(settings: &Settings, resource: &ProtectedResource) -> Router {
    let (path, mcp) = mcp_service(settings);
    Router::new()
        .route_service(&path, mcp)
        .layer(tool_scopes())
        .layer(resource.layer())
        .merge(resource.metadata_router())
}

/// The application behind `authgate gateway`: the gateway validates the
/// access tokens; this checks its signed caller assertion (`validator`,
/// from [`behind_gateway::validator`]) and the tools' scopes again (see
/// [`behind_gateway`]).
pub fn app_behind_gateway(settings: &Settings, validator: Validator) -> Router {
    let (path, mcp) = mcp_service(settings);
    Router::new()
        .route_service(&path, mcp)
        .layer(tool_scopes())
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(validator),
            behind_gateway::caller,
        ))
}
