//! Prompts and resources: `prompts/get` and `resources/read` (and
//! `resources/subscribe`) judged like tool calls, their lists filtered,
//! against a small JSON-RPC upstream (weather-mcp has neither).

use crate::support::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Answers each JSON-RPC request with a canned result for its method.
fn answer(m: &Value) -> Value {
    let result = match m["method"].as_str().unwrap_or("") {
        "prompts/list" => json!({"prompts": [
            {"name": "brief"}, {"name": "secret_plan"}, {"name": "other"}]}),
        "resources/list" => json!({"resources": [
            {"uri": "weather://oslo/now"}, {"uri": "admin://keys"}, {"uri": "file:///etc/x"}]}),
        "resources/templates/list" => json!({"resourceTemplates": [
            {"uriTemplate": "weather://{city}/now"}, {"uriTemplate": "admin://{key}"}]}),
        "prompts/get" => json!({"messages": [{"role": "user",
            "content": {"type": "text", "text": m["params"]["name"]}}]}),
        "resources/read" => json!({"contents": [{"uri": m["params"]["uri"], "text": "ok"}]}),
        _ => json!({}),
    };
    json!({"jsonrpc": "2.0", "id": m["id"], "result": result})
}

async fn harness(extra: Value) -> (Harness, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let v: Value = serde_json::from_slice(&body).unwrap();
                let out = match v {
                    Value::Array(a) => Value::Array(a.iter().map(answer).collect()),
                    m => answer(&m),
                };
                axum::Json(out)
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let mut rules = json!({
        "prompts": [
            {"name": "brief", "scopes": [READ], "log_arguments": true},
            {"name": "secret_*", "scopes": [WRITE]},
        ],
        "resources": [
            {"uri": "weather://*", "scopes": [READ]},
            {"uri": "admin://*", "scopes": ["weather:admin"]},
        ],
    });
    if let (Some(r), Some(e)) = (rules.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    let h = gateway(
        format!("http://{addr}/mcp"),
        Opts {
            extra: rules,
            ..Opts::default()
        },
    )
    .await;
    (h, hits)
}

fn req(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test]
async fn prompts_get_and_resources_read_need_their_rules_scopes() {
    let (h, hits) = harness(json!({})).await;
    let read = h.token(&[READ]);
    let post = |body: Value| {
        let t = read.clone();
        let h = &h;
        async move { h.post(Some(&t), &body, &[]).await }
    };
    let r = post(req(
        1,
        "prompts/get",
        json!({"name": "brief", "arguments": {"day": "mon"}}),
    ))
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        messages(r).await[0]["result"]["messages"][0]["content"]["text"],
        "brief"
    );
    let r = post(req(
        2,
        "resources/read",
        json!({"uri": "weather://oslo/now"}),
    ))
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Step-up: 403 insufficient_scope naming granted ∪ required.
    let r = post(req(3, "prompts/get", json!({"name": "secret_plan"}))).await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).contains("error=\"insufficient_scope\""));
    assert!(
        www(&r).contains("scope=\"weather:read weather:write\""),
        "{}",
        www(&r)
    );
    for method in ["resources/read", "resources/subscribe"] {
        let r = post(req(4, method, json!({"uri": "admin://keys"}))).await;
        assert_eq!(r.status(), 403, "{method}");
        assert!(
            www(&r).contains("scope=\"weather:read weather:admin\""),
            "{}",
            www(&r)
        );
    }
    // No rule: denied (unknown_prompts / unknown_resources follow
    // unknown_tools = "deny"); no scope unlocks it, so no challenge.
    let r = post(req(5, "prompts/get", json!({"name": "other"}))).await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).is_empty());
    let r = post(req(6, "resources/read", json!({"uri": "file:///etc/x"}))).await;
    assert_eq!(r.status(), 403);
    // Without the name it is judged by, a request is refused.
    let r = post(req(7, "resources/read", json!({}))).await;
    assert_eq!(r.status(), 400);
    // One refused message refuses the batch, naming the union.
    let r = post(json!([
        req(8, "prompts/get", json!({"name": "brief"})),
        req(9, "resources/read", json!({"uri": "admin://keys"})),
        req(10, "prompts/get", json!({"name": "secret_plan"})),
    ]))
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        www(&r).contains("scope=\"weather:read weather:admin weather:write\""),
        "{}",
        www(&r)
    );
    // Mcp-Name must agree with the body here too.
    let r = h
        .post(
            Some(&read),
            &req(11, "prompts/get", json!({"name": "secret_plan"})),
            &[("mcp-method", "prompts/get"), ("mcp-name", "brief")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "nothing refused reached the upstream"
    );

    // An admin token reads admin resources.
    let admin = h.token(&[READ, "weather:admin"]);
    let r = h
        .post(
            Some(&admin),
            &req(12, "resources/read", json!({"uri": "admin://keys"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);

    let rows = h.audit.rows();
    let row = |i: usize| (rows[i].kind, rows[i].tool.as_str(), rows[i].outcome);
    assert_eq!(row(0), ("prompt", "brief", "allowed"));
    assert_eq!(rows[0].arguments, Some(json!({"day": "mon"})));
    assert_eq!(row(1), ("resource", "weather://oslo/now", "allowed"));
    assert_eq!(row(2), ("prompt", "secret_plan", "insufficient_scope"));
    assert_eq!(row(3), ("resource", "admin://keys", "insufficient_scope"));
    assert_eq!(row(5), ("prompt", "other", "denied"));
    assert!(rows[1].arguments.is_none());
    let last = rows.last().unwrap();
    assert_eq!((last.kind, last.outcome), ("resource", "allowed"));
}

#[tokio::test]
async fn prompt_and_resource_lists_are_filtered() {
    let (h, _) = harness(json!({})).await;
    let names = |v: &Value, key: &str, field: &str| -> Vec<String> {
        v["result"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[field].as_str().unwrap().to_owned())
            .collect()
    };
    let read = h.token(&[READ]);
    let batch = json!([
        req(1, "prompts/list", json!({})),
        req(2, "resources/list", json!({})),
        req(3, "resources/templates/list", json!({})),
    ]);
    let m = messages(h.post(Some(&read), &batch, &[]).await).await;
    assert_eq!(names(&m[0], "prompts", "name"), ["brief"]);
    assert_eq!(names(&m[1], "resources", "uri"), ["weather://oslo/now"]);
    assert_eq!(
        names(&m[2], "resourceTemplates", "uriTemplate"),
        ["weather://{city}/now"]
    );
    let all = h.token(&[READ, WRITE, "weather:admin"]);
    let m = messages(h.post(Some(&all), &batch, &[]).await).await;
    assert_eq!(names(&m[0], "prompts", "name"), ["brief", "secret_plan"]);
    assert_eq!(
        names(&m[1], "resources", "uri"),
        ["weather://oslo/now", "admin://keys"]
    );
}

#[tokio::test]
async fn unknown_prompts_and_resources_can_need_a_scope() {
    let (h, _) = harness(json!({
        "unknown_prompts": READ,
        "unknown_resources": "weather:admin",
    }))
    .await;
    let read = h.token(&[READ]);
    let r = h
        .post(
            Some(&read),
            &req(1, "prompts/get", json!({"name": "other"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = h
        .post(
            Some(&read),
            &req(2, "resources/read", json!({"uri": "file:///etc/x"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).contains("scope=\"weather:read weather:admin\""));
    // Tools stay denied (unknown_tools = "deny").
    let r = h
        .post(Some(&read), &call(3, "anything", json!({})), &[])
        .await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).is_empty());
}
