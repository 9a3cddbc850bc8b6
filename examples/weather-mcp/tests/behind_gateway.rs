//! `--behind-gateway`: no token validation; the caller comes from the
//! gateway's headers, with `weather:read` only, and a request without the
//! gateway's assertion header is refused. A real rmcp client sends the
//! headers the gateway would.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::json;
use std::collections::HashMap;
use weather_mcp::{Settings, app_behind_gateway};

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        issuer: "http://127.0.0.1:9/unused".to_owned(),
        resource: format!("{base}/mcp"),
        hide_unauthorized_tools: false,
    };
    let router = app_behind_gateway(&settings);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("{base}/mcp")
}

async fn client(url: &str, headers: &[(&'static str, &str)]) -> RunningService<RoleClient, ()> {
    let headers: HashMap<_, _> = headers
        .iter()
        .map(|(k, v)| {
            (
                axum::http::HeaderName::from_static(k),
                axum::http::HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).custom_headers(headers),
    );
    ().serve(transport).await.expect("MCP handshake")
}

#[tokio::test]
async fn the_gateways_caller_gets_read_only() {
    let url = start().await;
    let c = client(
        &url,
        &[
            ("authgate-caller", "eyJ.assertion.sig"),
            ("authgate-sub", "alice"),
            ("authgate-client-id", "cli-1"),
        ],
    )
    .await;
    let who = c
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_eq!(
        who.structured_content.unwrap(),
        json!({"sub": "alice", "client_id": "cli-1", "scopes": ["weather:read"]})
    );
    let f = c
        .call_tool(
            CallToolRequestParams::new("get_forecast")
                .with_arguments(json!({"city": "Lyon"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_eq!(f.structured_content.unwrap()["city"], "Lyon");
    // No write scope behind the gateway: the tool refuses.
    let w = c
        .call_tool(
            CallToolRequestParams::new("set_alert").with_arguments(
                json!({"city": "Lyon", "condition": "rain"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await;
    assert!(w.is_err(), "set_alert answered {w:?}");
}

#[tokio::test]
async fn a_request_that_skipped_the_gateway_is_refused() {
    let url = start().await;
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"t","version":"1"}}});
    let post = |headers: &[(&str, &str)]| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    // A bearer token is no way in: only the gateway's headers are.
    let r = post(&[("authorization", "Bearer x"), ("authgate-sub", "alice")])
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The assertion header without the caller's names.
    let r = post(&[("authgate-caller", "x")]).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post(&[
        ("authgate-caller", "x"),
        ("authgate-sub", "alice"),
        ("authgate-client-id", "cli-1"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
}
