//! /healthz, /readyz, /metrics, the JWKS.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn health_readiness_metrics_and_jwks() {
    let h = weather(Opts::default()).await;
    let get = |p: &str| h.http.get(format!("{}{p}", h.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    // Ready once the upstream answered and the issuer's keys are loaded.
    let mut ready = false;
    for _ in 0..60 {
        let r = get("/readyz").await.unwrap();
        if r.status() == 200 {
            let b: Value = r.json().await.unwrap();
            assert_eq!(b["upstreams"][0]["jwks_loaded"], true);
            ready = true;
            break;
        }
        assert_eq!(r.status(), 503);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "/readyz never became ready");

    let jwks: Value = get("/.well-known/jwks.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");

    let t = h.token(&[READ]);
    assert_eq!(
        h.post(
            Some(&t),
            &call(1, "get_forecast", json!({"city": "Oslo"})),
            &[]
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        h.post(Some(&t), &call(2, "set_alert", json!({})), &[])
            .await
            .status(),
        403
    );
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("authgate_gateway_tool_calls_total")
                && l.contains("upstream=\"weather\"")
                && l.contains("tool=\"get_*\"")
                && l.contains("outcome=\"allowed\"")),
        "{text}"
    );
    assert!(text.contains("outcome=\"insufficient_scope\""), "{text}");
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let e = authgate_gateway::config::from_value(
        json!({"upstreams": [{"name": "w", "public_url": "http://127.0.0.1:1/mcp",
               "upstream_url": "http://127.0.0.1:2/mcp", "issuer": "http://127.0.0.1:3",
               "list_filter": "sometimes"}]}),
        None,
    )
    .unwrap_err();
    assert_eq!(e.key, "upstreams[0].list_filter");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, "listen = \"not an address\"\n[[upstreams]]\nname = \"w\"\npublic_url = \"http://127.0.0.1:1/mcp\"\nupstream_url = \"http://127.0.0.1:2/mcp\"\nissuer = \"http://127.0.0.1:3\"\n").unwrap();
    let e = authgate_gateway::config::load(Some(&file), None).unwrap_err();
    assert_eq!(e.key, "listen");
    let ok = authgate_gateway::config::load(Some(&file), Some("127.0.0.1:9999")).unwrap();
    assert_eq!(ok.listen.port(), 9999);
}
