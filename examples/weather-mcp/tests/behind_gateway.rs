//! `--behind-gateway`: only calls carrying the gateway's signed caller
//! assertion get in; the caller and the scopes come from the verified
//! assertion, and the tools check the scopes again. The assertions here are
//! signed by a stand-in key server (`authgate_resource::testing`) exactly as
//! `authgate gateway` signs them (ES256, `typ` `authgate-caller+jwt`); the
//! gateway's own tests run the real pair.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_resource::testing::TestAuthorizationServer;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::{Value, json};
use std::collections::HashMap;
use weather_mcp::behind_gateway::{Gateway, validator};
use weather_mcp::{Settings, app_behind_gateway};

struct Stack {
    url: String,
    keys: TestAuthorizationServer,
}

async fn start() -> Stack {
    let keys = TestAuthorizationServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        issuer: "http://127.0.0.1:9/unused".to_owned(),
        resource: format!("{base}/mcp"),
        hide_unauthorized_tools: false,
    };
    let gateway = Gateway {
        origin: keys.issuer().to_owned(),
        jwks_uri: Some(format!("{}/jwks", keys.issuer())),
    };
    let router = app_behind_gateway(&settings, validator(&settings, &gateway).unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Stack {
        url: format!("{base}/mcp"),
        keys,
    }
}

impl Stack {
    /// An assertion as the gateway mints it, with `patch` applied.
    fn assertion(&self, scope: &str, patch: Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.keys.issuer(), "aud": self.url, "sub": "alice",
            "client_id": "cli-1", "scope": scope, "iat": now, "exp": now + 60,
            "jti": format!("j-{now}-{scope}"),
        });
        for (k, v) in patch.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let key = self.keys.signing_key();
        key.sign_with_header(
            &json!({"alg": "ES256", "kid": key.kid(), "typ": "authgate-caller+jwt"}),
            &claims,
        )
    }
}

async fn client(url: &str, assertion: &str) -> RunningService<RoleClient, ()> {
    let headers: HashMap<_, _> = [(
        axum::http::HeaderName::from_static("authgate-caller"),
        axum::http::HeaderValue::from_str(assertion).unwrap(),
    )]
    .into_iter()
    .collect();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).custom_headers(headers),
    );
    ().serve(transport).await.expect("MCP handshake")
}

#[tokio::test]
async fn the_verified_caller_gets_the_scopes_of_its_assertion() {
    let s = start().await;
    let c = client(&s.url, &s.assertion("weather:read", json!({}))).await;
    let who = c
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_eq!(
        who.structured_content.unwrap(),
        json!({"sub": "alice", "client_id": "cli-1", "scopes": ["weather:read"]})
    );
    // A read assertion does not open the write tool.
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
    // A write assertion does.
    let c = client(&s.url, &s.assertion("weather:write", json!({}))).await;
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
    assert!(w.is_ok(), "set_alert refused: {w:?}");
}

#[tokio::test]
async fn a_request_that_skipped_the_gateway_is_refused() {
    let s = start().await;
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"t","version":"1"}}});
    let post = |headers: Vec<(&'static str, String)>| {
        let mut r = http
            .post(&s.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    let status = |headers| async { post(headers).await.unwrap().status().as_u16() };
    // A bearer token, or the unsigned naming headers, are no way in.
    assert_eq!(
        status(vec![
            ("authorization", "Bearer x".into()),
            ("authgate-sub", "alice".into()),
            ("authgate-client-id", "cli-1".into()),
        ])
        .await,
        401
    );
    // A forged assertion.
    assert_eq!(
        status(vec![("authgate-caller", "eyJ.e30.sig".into())]).await,
        401
    );
    // A real one for another upstream, or expired, or of another type.
    let other = s.assertion("weather:read", json!({"aud": "http://127.0.0.1:1/mcp"}));
    assert_eq!(status(vec![("authgate-caller", other)]).await, 401);
    let old = s.assertion("weather:read", json!({"iat": 1000, "exp": 1060}));
    assert_eq!(status(vec![("authgate-caller", old)]).await, 401);
    let access_token = s.keys.token(&s.url, &["weather:read"]);
    assert_eq!(status(vec![("authgate-caller", access_token)]).await, 401);
    // The gateway's assertion.
    let good = s.assertion("weather:read", json!({}));
    assert_eq!(status(vec![("authgate-caller", good)]).await, 200);
}
