//! The audit log records each security-relevant event with time, actor,
//! client, resource, address and outcome — and nothing secret. Retention
//! purges old events.

use super::*;
use crate::browser::{
    Browser, CHALLENGE, PASSWORD, VERIFIER, add_user, authorize_through, authorize_url, exchange,
    refresh,
};
use authgate_core::model::AuditEvent;
use serde_json::json;

fn has(e: &Value, event: &str) -> bool {
    e["event"] == event
}

/// Every event carries a time and an outcome, and its address when it
/// came from a request.
fn complete(e: &Value) {
    assert!(e["at"].as_i64().unwrap() > 1_600_000_000, "{e}");
    assert!(!e["outcome"].as_str().unwrap().is_empty(), "{e}");
    assert_eq!(e["address"], "127.0.0.1", "{e}");
}

#[tokio::test]
async fn sign_in_success_failure_and_lockout() {
    let mut cfg = admin_config();
    cfg.login_max_failures_per_account = 2;
    let app = TestApp::start_with(cfg, "").await;
    let ada = add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    let post = |pw: &'static str| {
        let b = &b;
        let csrf = login.hidden("csrf");
        let url = app.url("/login");
        async move {
            b.post(
                &url,
                &[
                    ("csrf", &csrf),
                    ("r", ""),
                    ("email", "ada@example.com"),
                    ("password", pw),
                ],
            )
            .await
        }
    };
    assert_eq!(post(PASSWORD).await.status, 303);
    let e = audit_event(&app, "sign_in.succeeded", |e| has(e, "sign_in.succeeded")).await;
    complete(&e);
    assert_eq!(e["actor"], ada.id.as_str());
    assert_eq!(e["outcome"], "ok");
    // A new browser for failures (the first one is signed in).
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    let csrf = login.hidden("csrf");
    for _ in 0..3 {
        b.post(
            &app.url("/login"),
            &[
                ("csrf", &csrf),
                ("r", ""),
                ("email", "ada@example.com"),
                ("password", "wrong password"),
            ],
        )
        .await;
    }
    let e = audit_event(&app, "sign_in.failed", |e| has(e, "sign_in.failed")).await;
    complete(&e);
    assert_eq!(
        (e["actor"].as_str(), e["outcome"].as_str()),
        (Some("ada@example.com"), Some("refused"))
    );
    let e = audit_event(&app, "sign_in.lockout", |e| has(e, "sign_in.lockout")).await;
    complete(&e);
    let e = audit_event(&app, "sign_in.locked_out", |e| has(e, "sign_in.locked_out")).await;
    complete(&e);
    app.shutdown().await;
}

#[tokio::test]
async fn consent_given_and_revoked_tokens_issued_code_and_refresh_replay() {
    let mut cfg = admin_config();
    cfg.refresh_grace_secs = 0;
    let app = TestApp::start_with(cfg, "").await;
    let ada = add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let e = audit_event(&app, "consent.given", |e| has(e, "consent.given")).await;
    complete(&e);
    assert_eq!(
        (
            e["actor"].as_str(),
            e["client_id"].as_str(),
            e["resource_id"].as_str()
        ),
        (Some(ada.id.as_str()), Some("public"), Some("weather"))
    );
    // Token issued, with the grant type.
    let (s, tokens) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200);
    let e = audit_event(&app, "token.issued", |e| {
        has(e, "token.issued") && e["detail"]["grant_type"] == "authorization_code"
    })
    .await;
    complete(&e);
    assert_eq!(e["client_id"], "public");
    // Code replay: refused and its grant revoked.
    let (s, _) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 400);
    let e = audit_event(&app, "authorization_code.replayed", |e| {
        has(e, "authorization_code.replayed")
    })
    .await;
    complete(&e);
    assert_eq!(e["client_id"], "public");

    // A fresh grant for refresh: rotate, then replay the old token.
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let (_, tokens2) = exchange(&app, &p.query()["code"], VERIFIER).await;
    let rt = tokens2["refresh_token"].as_str().unwrap().to_string();
    let (s, _) = refresh(&app, &rt, None).await;
    assert_eq!(s, 200);
    audit_event(&app, "token.issued", |e| {
        has(e, "token.issued") && e["detail"]["grant_type"] == "refresh_token"
    })
    .await;
    // Well past the grace window the old token is a replay.
    let mut replayed = false;
    for _ in 0..30 {
        let (s, v) = refresh(&app, &rt, None).await;
        if s == 400
            && v["error_description"]
                .as_str()
                .unwrap_or("")
                .contains("already used")
        {
            replayed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(replayed, "refresh replay not detected");
    let e = audit_event(&app, "refresh_token.replayed", |e| {
        has(e, "refresh_token.replayed")
    })
    .await;
    complete(&e);
    assert_eq!(e["outcome"], "grant_revoked");

    // Client credentials.
    app.svc_token("weather:read").await;
    let e = audit_event(&app, "token.issued", |e| {
        has(e, "token.issued") && e["detail"]["grant_type"] == "client_credentials"
    })
    .await;
    assert_eq!(e["actor"], "svc");

    // Consent revoked by the person (Connected apps) and by an admin.
    let account = b.get(&app.url("/account")).await;
    let p = b
        .post(
            &app.url("/account/revoke"),
            &[
                ("csrf", &account.hidden("csrf")),
                ("client_id", "public"),
                ("resource_id", "weather"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let e = audit_event(&app, "consent.revoked", |e| has(e, "consent.revoked")).await;
    complete(&e);
    assert_eq!(e["resource_id"], "weather");
    let _ = tokens;
    app.shutdown().await;
}

#[tokio::test]
async fn admin_changes_and_key_rotation() {
    let a = Admin::start().await;
    let ada = add_user(&a.app, "ada@example.com").await;
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/resources".into(),
            Some(json!({"id": "fc", "name": "Fc", "uri": "https://fc.example.com/mcp"})),
        ),
        (
            "PUT",
            "/resources/fc".into(),
            Some(json!({"name": "Fc 2", "uri": "https://fc.example.com/mcp"})),
        ),
        ("POST", "/clients".into(), Some(json!({"client_id": "c1"}))),
        ("POST", "/clients/c1/secret".into(), None),
        ("POST", "/clients/c1/block".into(), None),
        ("POST", "/clients/c1/unblock".into(), None),
        ("DELETE", "/clients/c1".into(), None),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "bob@example.com"})),
        ),
        ("POST", format!("/users/{}/disable", ada.id), None),
        ("POST", format!("/users/{}/enable", ada.id), None),
        ("POST", format!("/users/{}/password-link", ada.id), None),
        ("POST", "/keys/rotate".into(), None),
        ("DELETE", "/resources/fc".into(), None),
    ];
    for (m, p, body) in calls {
        let (s, v) = a.call(m, &p, body).await;
        assert!(s == 200 || s == 201, "{m} {p}: {s} {v}");
    }
    for (event, client, resource) in [
        ("admin.resource.created", None, Some("fc")),
        ("admin.resource.updated", None, Some("fc")),
        ("admin.resource.deleted", None, Some("fc")),
        ("admin.client.created", Some("c1"), None),
        ("admin.client.secret_rotated", Some("c1"), None),
        ("admin.client.blocked", Some("c1"), None),
        ("admin.client.unblocked", Some("c1"), None),
        ("admin.client.deleted", Some("c1"), None),
        ("admin.user.created", None, None),
        ("admin.user.disabled", None, None),
        ("admin.user.enabled", None, None),
        ("admin.user.password_link_created", None, None),
        ("key.rotated", None, None),
    ] {
        let e = audit_event(&a.app, event, |e| has(e, event)).await;
        complete(&e);
        assert_eq!(e["actor"], "client:ops", "{e}");
        assert_eq!(e["outcome"], "ok", "{e}");
        assert_eq!(e["client_id"].as_str(), client, "{e}");
        assert_eq!(e["resource_id"].as_str(), resource, "{e}");
    }
    let e = audit_event(&a.app, "admin.resource.updated", |e| {
        has(e, "admin.resource.updated")
    })
    .await;
    assert_eq!(e["detail"]["changed"], json!(["name"]));
    a.app.shutdown().await;
}

/// Dynamic registration, its RFC 7592 update and deletion (recorded by
/// the registration endpoint).
#[tokio::test]
async fn dynamic_registration_update_and_deletion_are_audited() {
    let app = TestApp::start_with(admin_config(), "").await;
    let body = json!({
        "client_name": "Some MCP host",
        "redirect_uris": ["http://127.0.0.1:33333/callback"],
        "token_endpoint_auth_method": "none"
    });
    let resp = app
        .http
        .post(app.url("/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    let id = v["client_id"].as_str().unwrap().to_string();
    let rat = v["registration_access_token"].as_str().unwrap().to_string();
    let uri = v["registration_client_uri"].as_str().unwrap().to_string();
    let e = audit_event(&app, &id, |e| has(e, "client.registered")).await;
    complete(&e);
    let mut update = body.clone();
    update["client_id"] = json!(id);
    update["client_name"] = json!("Renamed host");
    let resp = app
        .http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let e = audit_event(&app, &id, |e| has(e, "client.registration_updated")).await;
    complete(&e);
    let resp = app
        .http
        .delete(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let e = audit_event(&app, &id, |e| has(e, "client.registration_deleted")).await;
    complete(&e);
    let all = serde_json::to_string(&app.store.list_audit_events(None, None, 1000).await.unwrap())
        .unwrap();
    assert!(
        !all.contains(&rat),
        "the registration access token is not recorded"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn nothing_secret_is_recorded() {
    let a = Admin::start().await;
    add_user(&a.app, "ada@example.com").await;
    let (_, created) = a
        .call("POST", "/clients", Some(json!({"client_id": "leaky"})))
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let (_, rotated) = a.call("POST", "/clients/leaky/secret", None).await;
    let rotated = rotated["client_secret"].as_str().unwrap().to_string();
    let (_, link) = a
        .call("POST", "/users", Some(json!({"email": "bob@example.com"})))
        .await;
    let link = link["password_link"]["url"].as_str().unwrap().to_string();
    let token = link.split("token=").nth(1).unwrap().to_string();
    let b = Browser::new();
    let p = authorize_through(&a.app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let (_, tokens) = exchange(&a.app, &code, VERIFIER).await;
    let login = Browser::new();
    let page = login.get(&a.app.url("/login")).await;
    login
        .post(
            &a.app.url("/login"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("r", ""),
                ("email", "ada@example.com"),
                ("password", "typo in my password"),
            ],
        )
        .await;
    audit_event(&a.app, "sign_in.failed", |e| has(e, "sign_in.failed")).await;
    audit_event(&a.app, "token.issued", |e| {
        e["detail"]["grant_type"] == "authorization_code"
    })
    .await;
    let all: Vec<AuditEvent> = a
        .app
        .store
        .list_audit_events(None, None, 1000)
        .await
        .unwrap();
    let text = serde_json::to_string(&all).unwrap();
    for s in [
        secret.as_str(),
        rotated.as_str(),
        token.as_str(),
        code.as_str(),
        a.token.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        PASSWORD,
        "typo in my password",
        OPS_SECRET,
        CHALLENGE,
    ] {
        assert!(!text.contains(s), "audit log contains a secret: {s}");
    }
    let _ = authorize_url;
    a.app.shutdown().await;
}

#[tokio::test]
async fn retention_purges_old_events() {
    use authgate_authority::config;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = admin_config();
    cfg.issuer = Some(format!("http://{addr}"));
    cfg.listen = addr.to_string();
    cfg.data_dir = dir.path().join("data");
    cfg.database_url = Some(format!("sqlite://{}", dir.path().join("a.db").display()));
    cfg.audit_retention_days = 30;
    let settings = config::validate(cfg).unwrap();
    let store = authgate_authority::store_open::open(&settings.database_url)
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ev = |at: i64, event: &str| AuditEvent {
        id: 0,
        at,
        event: event.into(),
        actor: None,
        client_id: None,
        resource_id: None,
        address: None,
        outcome: "ok".into(),
        detail: Value::Null,
    };
    store
        .append_audit_events(vec![
            ev(now - 31 * 86400, "old.event"),
            ev(now - 29 * 86400, "recent.event"),
        ])
        .await
        .unwrap();
    let running = authgate_server::serve::start(settings, store.clone(), listener)
        .await
        .unwrap();
    // The periodic job (first run an hour after start) does the purge.
    authgate_server::serve::purge(&running.state).await;
    let left = store
        .list_audit_events(Some(".event"), None, 10)
        .await
        .unwrap();
    assert!(left.iter().any(|e| e.event == "recent.event"));
    let gone = left.iter().all(|e| e.event != "old.event");
    assert!(gone, "the old event was not purged");
    running.shutdown().await;
    // The setting is validated.
    let mut bad = admin_config();
    bad.audit_retention_days = 0;
    assert_eq!(
        config::validate(bad).unwrap_err().key,
        "audit_retention_days"
    );
}

/// A burst of identical events (the same client fetching tokens) is stored
/// as few rows whose `occurrences` add up to the number of events.
#[tokio::test]
async fn a_burst_of_identical_events_is_stored_once_with_its_number() {
    const TOKENS: u64 = 40;
    let app = TestApp::start().await;
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..TOKENS {
        let (http, url) = (app.http.clone(), app.url("/token"));
        burst.spawn(async move {
            http.post(url)
                .basic_auth("svc", Some(SVC_SECRET))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "weather:read"),
                    ("resource", WEATHER_URI),
                ])
                .send()
                .await
                .expect("token request")
                .status()
        });
    }
    while let Some(status) = burst.join_next().await {
        assert_eq!(status.expect("task"), 200);
    }
    let count = |e: &AuditEvent| {
        e.detail
            .get("occurrences")
            .map_or(Some(1), serde_json::Value::as_u64)
    };
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = app
            .store
            .list_audit_events(Some("token.issued"), None, 200)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.client_id.as_deref() == Some("svc"))
            .collect::<Vec<_>>();
        if rows.iter().map(|e| count(e).unwrap_or(0)).sum::<u64>() >= TOKENS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let total: u64 = rows.iter().map(|e| count(e).expect("a number")).sum();
    assert_eq!(total, TOKENS, "every token counted once: {rows:?}");
    // The burst takes a second or two and a few 50 ms batches; far fewer
    // rows than tokens either way.
    assert!(rows.len() < 20, "{} rows for {TOKENS} tokens", rows.len());
    assert!(rows.iter().any(|e| count(e) > Some(1)), "{rows:?}");
    for e in &rows {
        assert_eq!(e.detail["grant_type"], "client_credentials");
        assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
    }
    app.shutdown().await;
}
