//! Per-tool policy: step-up, unknown tools, header/body agreement, batches,
//! list filtering, hot reload.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn step_up_through_the_gateway() {
    let h = weather(Opts::default()).await;
    let read = h.token(&[READ]);
    let alert = call(1, "set_alert", json!({"city": "Lyon", "condition": "rain"}));
    let r = h.post(Some(&read), &alert, &[]).await;
    assert_eq!(r.status(), 403);
    let c = www(&r);
    assert!(c.contains("error=\"insufficient_scope\""), "{c}");
    assert!(c.contains("scope=\"weather:read weather:write\""), "{c}");
    assert!(h.seen.lock().unwrap().is_empty());

    // The client re-authorizes with the union and retries.
    let both = h.token(&[READ, WRITE]);
    let r = h.post(Some(&both), &alert, &[]).await;
    assert_eq!(r.status(), 200);
    let m = messages(r).await;
    assert_eq!(m[0]["result"]["structuredContent"]["city"], "Lyon", "{m:?}");

    let rows = h.audit.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].outcome, rows[0].status),
        ("insufficient_scope", 403)
    );
    assert_eq!((rows[1].outcome, rows[1].status), ("allowed", 200));
    assert_eq!(rows[1].tool, "set_alert");
    assert_eq!(rows[1].sub, "user-1");
    assert_eq!(rows[1].client_id, "client-1");
    // set_alert's rule does not log arguments.
    assert!(rows[1].arguments.is_none());

    // An implied scope counts (scope_implies: weather:admin => weather:write).
    let admin = h.token(&["weather:admin"]);
    assert_eq!(h.post(Some(&admin), &alert, &[]).await.status(), 200);
    assert_eq!(h.audit.rows().last().unwrap().outcome, "allowed");

    // get_* logs them (log_arguments = true).
    let r = h
        .post(
            Some(&read),
            &call(2, "get_forecast", json!({"city": "Oslo"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let rows = h.audit.rows();
    assert_eq!(rows[3].arguments, Some(json!({"city": "Oslo"})));
}

#[tokio::test]
async fn unknown_tools_are_denied_or_need_the_configured_scope() {
    let h = weather(Opts::default()).await;
    let all = h.token(&[READ, WRITE]);
    let r = h
        .post(Some(&all), &call(1, "drop_tables", json!({})), &[])
        .await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).is_empty(), "no scope unlocks a denied tool");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], 1);
    assert_eq!(h.audit.rows()[0].outcome, "denied");

    let h = weather(Opts {
        unknown_tools: "weather:admin",
        ..Opts::default()
    })
    .await;
    let r = h
        .post(
            Some(&h.token(&[READ])),
            &call(1, "drop_tables", json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).contains("scope=\"weather:read weather:admin\""));
}

#[tokio::test]
async fn headers_and_body_must_agree() {
    let h = weather(Opts::default()).await;
    let t = h.token(&[READ, WRITE]);
    let forecast = call(1, "get_forecast", json!({"city": "Oslo"}));
    // A name header saying one tool while the body calls another: the
    // policy would otherwise be judged on one and the upstream run the other.
    for headers in [
        vec![("mcp-method", "tools/call"), ("mcp-name", "whoami")],
        vec![("mcp-method", "tools/list"), ("mcp-name", "get_forecast")],
        vec![("mcp-name", "get_forecast"), ("mcp-name", "get_forecast")],
    ] {
        let r = h.post(Some(&t), &forecast, &headers).await;
        assert_eq!(r.status(), 400, "{headers:?}");
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], -32020, "{headers:?}");
        assert_eq!(b["id"], 1);
    }
    // A 2026-07-28 client must send them.
    let r = h
        .post(
            Some(&t),
            &forecast,
            &[("mcp-protocol-version", "2026-07-28")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(h.seen.lock().unwrap().is_empty());
    // Agreeing headers pass (base64 form included); so does an old client
    // sending none.
    for headers in [
        vec![("mcp-method", "tools/call"), ("mcp-name", "get_forecast")],
        vec![
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?Z2V0X2ZvcmVjYXN0?="),
        ],
        vec![],
    ] {
        let r = h.post(Some(&t), &forecast, &headers).await;
        assert_eq!(r.status(), 200, "{headers:?}");
    }
}

#[tokio::test]
async fn batches_are_judged_per_message() {
    let h = weather(Opts::default()).await;
    let batch = json!([
        call(1, "get_forecast", json!({"city": "Oslo"})),
        call(2, "set_alert", json!({"city": "Oslo", "condition": "snow"})),
        call(3, "set_alert", json!({"city": "Rome", "condition": "heat"})),
    ]);
    // One forbidden message refuses the whole batch, naming the union.
    let r = h.post(Some(&h.token(&[READ])), &batch, &[]).await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).contains("scope=\"weather:read weather:write\""));
    assert!(h.seen.lock().unwrap().is_empty());
    assert_eq!(h.audit.rows().len(), 3);
    // Allowed: forwarded as sent.
    let both = h.token(&[READ, WRITE]);
    let r = h.post(Some(&both), &batch, &[]).await;
    assert_ne!(r.status(), 403);
    assert_eq!(h.seen.lock().unwrap().len(), 1);
    let rows = h.audit.rows();
    assert!(rows[3..].iter().all(|r| r.outcome == "allowed"), "{rows:?}");
    // A batch cannot be described by the standard headers.
    let r = h
        .post(Some(&both), &batch, &[("mcp-method", "tools/call")])
        .await;
    assert_eq!(r.status(), 400);
}

async fn listed(h: &Harness, scopes: &[&str]) -> Vec<String> {
    let r = h.post(Some(&h.token(scopes)), &list(7), &[]).await;
    assert_eq!(r.status(), 200);
    let m = messages(r).await;
    let answer = m.iter().find(|m| m["id"] == 7).unwrap();
    tool_names(answer)
}

#[tokio::test]
async fn tools_list_is_filtered_over_sse_and_json() {
    for json_response in [false, true] {
        let h = weather(Opts {
            json_response,
            ..Opts::default()
        })
        .await;
        assert_eq!(
            listed(&h, &[READ]).await,
            ["get_forecast", "whoami"],
            "json {json_response}"
        );
        assert_eq!(listed(&h, &[WRITE]).await, ["set_alert", "whoami"]);
        assert_eq!(
            listed(&h, &[READ, WRITE]).await,
            ["get_forecast", "set_alert", "whoami"]
        );
    }
    // "show": everything listed, for clients that step up on a 403.
    let h = weather(Opts {
        list_filter: "show",
        ..Opts::default()
    })
    .await;
    assert_eq!(
        listed(&h, &[READ]).await,
        ["get_forecast", "set_alert", "whoami"]
    );
}

#[tokio::test]
async fn policy_file_is_hot_reloaded_and_a_bad_file_keeps_the_old_policy() {
    let h = weather(Opts {
        policy_file: Some(
            "[[tools]]\nname = \"get_*\"\nscopes = [\"weather:read\"]\n\n[[tools]]\nname = \"set_alert\"\nscopes = [\"weather:write\"]\n".into(),
        ),
        ..Opts::default()
    })
    .await;
    let read = h.token(&[READ]);
    let alert = call(1, "set_alert", json!({"city": "Lyon", "condition": "rain"}));
    assert_eq!(h.post(Some(&read), &alert, &[]).await.status(), 403);
    let file = h.dir.path().join("policy.toml");
    // mtime resolution: make sure the change is seen as one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(
        &file,
        "unknown_tools = \"weather:read\"\n[[tools]]\nname = \"set_alert\"\nscopes = [\"weather:read\"]\n",
    )
    .unwrap();
    let mut ok = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if h.post(Some(&read), &alert, &[]).await.status() == 200 {
            ok = true;
            break;
        }
    }
    assert!(ok, "the new policy was not picked up");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&file, "[[tools]\nbroken").unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        h.post(Some(&read), &alert, &[]).await.status(),
        200,
        "old policy kept"
    );
}
