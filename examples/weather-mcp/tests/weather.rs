//! The weather server, in process, with a real rmcp client over streamable
//! HTTP and a stand-in authorization server — all on 127.0.0.1.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_resource::testing::TestAuthorizationServer;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::{Value, json};
use weather_mcp::{Settings, app, protected_resource};

struct Running {
    auth: TestAuthorizationServer,
    resource: String,
    base: String,
}

async fn start(hide_unauthorized_tools: bool) -> Running {
    let auth = TestAuthorizationServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        issuer: auth.issuer().to_owned(),
        resource: format!("{base}/mcp"),
        hide_unauthorized_tools,
    };
    let resource = protected_resource(&settings).unwrap();
    let router = app(&settings, &resource);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Running {
        auth,
        resource: settings.resource,
        base,
    }
}

async fn client(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.to_owned()),
    );
    ().serve(transport).await.expect("MCP handshake")
}

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn a_real_client_reads_and_is_refused_writes_with_a_read_token() {
    let s = start(false).await;
    let read = s.auth.token(&s.resource, &["weather:read"]);
    let c = client(&s.resource, &read).await;

    let tools = c.list_all_tools().await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        ["get_forecast", "set_alert", "whoami"],
        "not hidden by default"
    );

    let f = c
        .call_tool(
            CallToolRequestParams::new("get_forecast")
                .with_arguments(args(json!({"city": "Lyon", "days": 2}))),
        )
        .await
        .unwrap();
    let body = f.structured_content.unwrap();
    assert_eq!(body["city"], "Lyon");
    assert_eq!(body["days"].as_array().unwrap().len(), 2);
    assert_eq!(body, {
        let mut want = weather_mcp::forecast("Lyon", 2);
        want["alerts"] = json!([]);
        want
    });

    let me = c
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    let me = me.structured_content.unwrap();
    assert_eq!(me["sub"], "user-1");
    assert_eq!(me["client_id"], "client-1");
    assert_eq!(me["scopes"], json!(["weather:read"]));

    let err = c
        .call_tool(
            CallToolRequestParams::new("set_alert")
                .with_arguments(args(json!({"city": "Lyon", "condition": "rain"}))),
        )
        .await
        .expect_err("a read token cannot set alerts");
    let challenge = err
        .auth_challenge()
        .expect("the 403 challenge reaches the client")
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"weather:read weather:write\""),
        "{challenge}"
    );
    assert!(challenge.contains(&format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        s.base
    )));
    let _ = c.cancel().await;
}

#[tokio::test]
async fn a_write_token_sets_alerts_and_reads_too() {
    let s = start(false).await;
    let write = s.auth.token(&s.resource, &["weather:write"]);
    let c = client(&s.resource, &write).await;
    let a = c
        .call_tool(
            CallToolRequestParams::new("set_alert")
                .with_arguments(args(json!({"city": "Oslo", "condition": "frost"}))),
        )
        .await
        .unwrap();
    let a = a.structured_content.unwrap();
    assert_eq!(a["city"], "Oslo");
    assert_eq!(a["set_by"], "user-1");
    // weather:write implies weather:read.
    let f = c
        .call_tool(
            CallToolRequestParams::new("get_forecast")
                .with_arguments(args(json!({"city": "oslo"}))),
        )
        .await
        .unwrap();
    let f = f.structured_content.unwrap();
    assert_eq!(f["alerts"][0]["condition"], "frost");
    let _ = c.cancel().await;
}

#[tokio::test]
async fn hidden_tools_mode_lists_only_callable_tools() {
    let s = start(true).await;
    let read = s.auth.token(&s.resource, &["weather:read"]);
    let c = client(&s.resource, &read).await;
    let mut names: Vec<_> = c
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["get_forecast", "whoami"]);
    let _ = c.cancel().await;
}

#[tokio::test]
async fn http_level_probes() {
    let s = start(false).await;
    let http = reqwest::Client::new();
    // A client probing with GET gets 401 and the challenge, not 405.
    let r = http.get(&s.resource).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"weather:read\"",
            s.base
        )
        .as_str()
    );
    let m: Value = http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            s.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["resource"], s.resource.as_str());
    assert_eq!(m["authorization_servers"], json!([s.auth.issuer()]));
    assert_eq!(
        m["scopes_supported"],
        json!(["weather:read", "weather:write"])
    );

    // A raw tools/call JSON-RPC POST: 403 for read, 200 for write.
    let body = json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
                      "params":{"name":"set_alert","arguments":{"city":"Rome","condition":"heat"}}});
    let post = |token: String| {
        http.post(&s.resource)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string())
            .send()
    };
    let r = post(s.auth.token(&s.resource, &["weather:read"]))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Legacy session mode needs initialize first; the scope layer answers
    // before that matters, so a write token gets past it to rmcp.
    let r = post(s.auth.token(&s.resource, &["weather:write"]))
        .await
        .unwrap();
    assert_ne!(r.status(), 403);
    assert_ne!(r.status(), 401);
}
