//! MCP over streamable HTTP: per-tool scopes at the HTTP layer, claims as a
//! tool argument, `tools/list` filtering.

use crate::middleware::serve;
use authgate_resource::{AuthClaims, ProtectedResource, ToolScopes};
use axum::Router;
use reqwest::StatusCode;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use std::sync::Arc;

fn scopes() -> ToolScopes {
    ToolScopes::new()
        .tool("read_thing", ["weather:read"])
        .tool("write_thing", ["weather:write"])
}

#[derive(Clone)]
struct Things {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Things {
    #[tool(description = "reads")]
    async fn read_thing(&self, claims: AuthClaims) -> String {
        format!("read by {}", claims.sub)
    }
    #[tool(description = "writes")]
    async fn write_thing(&self, claims: AuthClaims) -> String {
        format!("written by {} ({})", claims.sub, claims.scopes.join(","))
    }
}

#[tool_handler]
impl ServerHandler for Things {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            scopes().visible_tools(&context, self.tool_router.list_all()),
        ))
    }
}

fn app(resource: &ProtectedResource) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    let mcp = StreamableHttpService::new(
        || {
            Ok(Things {
                tool_router: Things::tool_router(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", mcp)
        .layer(scopes())
        .layer(resource.layer())
        .merge(resource.metadata_router())
}

async fn rpc(url: &str, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn call(name: &str) -> Value {
    json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":name,"arguments":{}}})
}

#[tokio::test]
async fn tools_call_is_refused_with_403_when_the_tool_needs_a_missing_scope() {
    let a = serve(app).await;
    let read = a.auth.token(&a.resource, &["weather:read"]);
    let write = a.auth.token(&a.resource, &["weather:write"]);

    let r = rpc(&a.resource, &read, &call("write_thing")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let c = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(c.starts_with("Bearer error=\"insufficient_scope\", scope=\"weather:read weather:write\", resource_metadata=\""), "{c}");
    assert_eq!(c.matches("scope=").count(), 1);

    // A batch hiding the call among allowed ones is refused too.
    let batch = json!([call("read_thing"), call("write_thing")]);
    assert_eq!(
        rpc(&a.resource, &read, &batch).await.status(),
        StatusCode::FORBIDDEN
    );

    // Allowed calls reach the tool with the body intact and the claims.
    let r = rpc(&a.resource, &write, &call("write_thing")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], 7);
    assert_eq!(
        v["result"]["content"][0]["text"],
        "written by user-1 (weather:write)"
    );
    // write implies read.
    let r = rpc(&a.resource, &write, &call("read_thing")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = rpc(&a.resource, &read, &call("read_thing")).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "read by user-1");
}

#[tokio::test]
async fn tools_list_hides_what_the_token_cannot_call() {
    let a = serve(app).await;
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}});
    let names = |v: Value| -> Vec<String> {
        let mut n: Vec<String> = v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let read = a.auth.token(&a.resource, &["weather:read"]);
    let r = rpc(&a.resource, &read, &list).await;
    assert_eq!(names(r.json().await.unwrap()), ["read_thing"]);
    let write = a.auth.token(&a.resource, &["weather:write"]);
    let r = rpc(&a.resource, &write, &list).await;
    assert_eq!(
        names(r.json().await.unwrap()),
        ["read_thing", "write_thing"]
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let a = serve(|r| {
        Router::new()
            .route("/mcp", axum::routing::post(|| async { "ok" }))
            .layer(ToolScopes::new().max_body_bytes(64))
            .layer(r.layer())
    })
    .await;
    let token = a.auth.token(&a.resource, &["weather:read"]);
    let big =
        json!({"method":"tools/call","params":{"name":"x","arguments":{"p":"y".repeat(100)}}});
    assert_eq!(
        rpc(&a.resource, &token, &big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        rpc(&a.resource, &token, &json!({})).await.status(),
        StatusCode::OK
    );
}
