//! Issue 22's dashboard: the home page (counts, checklist, sign-ins,
//! clients awaiting attention), the clients list's search, filters and
//! pages, the audit log's filters and readable rows, the API reference.

use super::dashboard::{add_server, admin_browser, stand_in};
use super::*;
use authgate_core::model::{AuditEvent, Client, ClientKind, ClientMetadata};
use serde_json::json;

fn client(id: &str, kind: ClientKind, created_at: i64) -> Client {
    Client {
        client_id: id.into(),
        kind,
        metadata: ClientMetadata {
            client_name: Some(format!("Name of {id}")),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_access_token_hash: None,
        resources: vec!["weather".into()],
        allowed_scopes: None,
        blocked: false,
        registration_fingerprint: None,
        registration_count: 1,
        created_at,
        last_used_at: None,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `data-done` of a checklist step.
fn step_done(body: &str, id: &str) -> bool {
    let at = body
        .find(&format!("id=\"step-{id}\""))
        .unwrap_or_else(|| panic!("no step {id} in {body}"));
    body[at..]
        .split('>')
        .next()
        .unwrap()
        .contains("data-done=\"true\"")
}

#[tokio::test]
async fn home_shows_counts_checklist_sign_ins_and_clients_to_look_at() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let mut blocked = client("blocked-tool", ClientKind::MetadataDocument, now() - 60);
    blocked.blocked = true;
    app.store.insert_client(&blocked).await.unwrap();
    let mut fresh = client("fresh-dyn", ClientKind::Dynamic, now() - 60);
    fresh.resources = vec![];
    app.store.insert_client(&fresh).await.unwrap();
    let old = client("old-dyn", ClientKind::Dynamic, now() - 30 * 86_400);
    app.store.insert_client(&old).await.unwrap();
    let mut idle = client("no-servers", ClientKind::PreRegistered, now() - 60);
    idle.resources = vec![];
    app.store.insert_client(&idle).await.unwrap();

    // The sign-in is audited off the request path: wait for it.
    audit_event(&app, "sign_in.succeeded", |_| true).await;
    let home = b.get(&app.url("/admin")).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("aria-current=\"page\">Overview"));
    for (n, what) in [
        (2, "dynamically registered clients"),
        (1, "metadata-document clients"),
    ] {
        let shown = format!("<span class=\"n\">{n}</span> <span class=\"what\">{what}</span>");
        assert!(home.body.contains(&shown), "{shown} in {}", home.body);
    }
    // The test issuer is http: the checklist says so and what to do.
    assert!(!step_done(&home.body, "issuer-https"));
    assert!(home.body.contains("Set issuer = "));
    assert!(!step_done(&home.body, "kek-backup"));
    assert!(!step_done(&home.body, "server-checked"));
    // Sign-ins name the person by email, the id on hover.
    let u = app
        .store
        .get_user_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        home.body.contains(&format!("title=\"user id {}\"", u.id)),
        "{}",
        home.body
    );
    assert!(home.body.contains(">success</span>"));
    // Attention: the blocked client, the new dynamic one and the
    // pre-registered one allowed nothing; not the month-old one.
    for (id, why) in [
        ("blocked-tool", "blocked (metadata document)"),
        ("fresh-dyn", "new dynamic client"),
        ("no-servers", "allowed no MCP server"),
    ] {
        let at = home
            .body
            .find(&format!("client_id={}\"", id.replace('-', "%2D")))
            .unwrap_or_else(|| panic!("{id} not listed: {}", home.body));
        assert!(home.body[at..].contains(why), "{id}: {why}");
    }
    assert!(!home.body.contains("client_id=old%2Ddyn"));

    // The operator confirms the key-encryption key backup (CSRF checked).
    let refused = b
        .post(
            &app.url("/admin/deployment/kek-backup"),
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let csrf = home.hidden("csrf");
    let p = b
        .post(
            &app.url("/admin/deployment/kek-backup"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/admin?notice=kek-confirmed"))
    );
    let fact = app
        .store
        .get_fact("kek_backup_confirmed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fact.value["by"], "grace@example.com");

    // A passing connection check is kept for the checklist.
    let issuer = app.url("");
    let uri = stand_in(issuer.trim_end_matches('/').to_owned()).await;
    let detail = add_server(&app, &b, "Forecasts", &uri).await;
    let check = b
        .post(
            &app.url("/admin/servers/forecasts/check"),
            &[("csrf", detail.hidden("csrf").as_str())],
        )
        .await;
    assert_eq!(check.status, 200, "{}", check.body);
    let home = b.get(&app.url("/admin")).await;
    assert!(step_done(&home.body, "kek-backup"), "{}", home.body);
    assert!(home.body.contains("Confirmed by grace@example.com"));
    assert!(step_done(&home.body, "server-checked"), "{}", home.body);
    assert!(home.body.contains("Passed: forecasts."));
}

#[tokio::test]
async fn clients_page_searches_filters_and_pages_on_the_server() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let base = now() - 10_000;
    for i in 0..30 {
        let c = client(&format!("bulk-{i:02}"), ClientKind::PreRegistered, base + i);
        app.store.insert_client(&c).await.unwrap();
    }
    let mut tool = client("dyn-tool", ClientKind::Dynamic, base + 100);
    tool.metadata.redirect_uris = vec!["https://tools.example.org/cb".into()];
    app.store.insert_client(&tool).await.unwrap();
    let mut bad = client("bad-doc", ClientKind::MetadataDocument, base + 101);
    bad.blocked = true;
    app.store.insert_client(&bad).await.unwrap();
    let total = app.store.list_clients().await.unwrap().len();

    let first = b.get(&app.url("/admin/clients")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body.matches("data-client-id=").count(),
        25,
        "one page"
    );
    assert!(
        first.body.contains(&format!("1–25 of {total}")),
        "{}",
        first.body
    );
    assert!(first.body.contains("href=\"/admin/clients?page=2\""));
    let second = b.get(&app.url("/admin/clients?page=2")).await;
    assert_eq!(second.body.matches("data-client-id=").count(), total - 25);
    assert!(second.body.contains("id=\"previous\""));
    assert!(!second.body.contains("id=\"next\""));

    let ids = |body: &str| -> Vec<String> {
        body.split("data-client-id=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect()
    };
    let by_host = b.get(&app.url("/admin/clients?q=TOOLS.example")).await;
    assert_eq!(ids(&by_host.body), ["dyn-tool"], "redirect host, any case");
    let by_name = b.get(&app.url("/admin/clients?q=name+of+bulk-07")).await;
    assert_eq!(ids(&by_name.body), ["bulk-07"]);
    let dynamic = b.get(&app.url("/admin/clients?origin=dynamic")).await;
    assert_eq!(ids(&dynamic.body), ["dyn-tool"]);
    let blocked = b.get(&app.url("/admin/clients?status=blocked")).await;
    assert_eq!(ids(&blocked.body), ["bad-doc"]);
    let both = b
        .get(&app.url("/admin/clients?origin=pre-registered&status=active&q=bulk-2"))
        .await;
    assert_eq!(ids(&both.body).len(), 10, "bulk-20..29");
    assert!(
        both.body.contains("selected>Pre-registered"),
        "the form keeps the filters"
    );
    for bad in ["origin=elsewhere", "status=gone", "page=0"] {
        let p = b.get(&app.url(&format!("/admin/clients?{bad}"))).await;
        assert_eq!(p.status, 400, "{bad}: {}", p.body);
    }

    // One client's page.
    let p = b
        .get(&app.url("/admin/clients/view?client_id=dyn-tool"))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("https://tools.example.org/cb"));
    assert!(p.body.contains("dynamic"));
    let p = b.get(&app.url("/admin/clients/view?client_id=nope")).await;
    assert_eq!(p.status, 404);
}

#[tokio::test]
async fn audit_page_filters_and_reads_like_a_person_would() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let u = app
        .store
        .get_user_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    let at = now();
    let ev = |event: &str, actor: &str, outcome: &str, detail: Value, at: i64| AuditEvent {
        id: 0,
        at,
        event: event.into(),
        actor: Some(actor.into()),
        client_id: Some("audit-app".into()),
        resource_id: None,
        address: Some("192.0.2.9".into()),
        outcome: outcome.into(),
        detail,
    };
    app.store
        .append_audit_events(vec![
            ev("sign_in.failed", "mallory@example.com", "refused", Value::Null, at - 86_400 * 3),
            ev("sign_in.succeeded", &u.id, "ok", Value::Null, at),
            ev(
                "admin.client.created",
                "grace@example.com",
                "ok",
                json!({"client_name": "Audit app", "grant_types": ["authorization_code", "refresh_token"]}),
                at,
            ),
            ev("client.registration_refused", "", "failure", json!({"error": "invalid_redirect_uri"}), at),
        ])
        .await
        .unwrap();
    let rows = |body: &str| -> Vec<String> {
        body.split("<td data-label=\"Event\" class=\"mono\">")
            .skip(1)
            .map(|s| s.split("</td>").next().unwrap().replace("<wbr>", ""))
            .filter(|e| !e.starts_with("admin.reauthenticate"))
            .collect()
    };
    let page = b.get(&app.url("/admin/audit?q=audit-app")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        rows(&page.body),
        [
            "client.registration_refused",
            "admin.client.created",
            "sign_in.succeeded",
            "sign_in.failed"
        ]
    );
    // One vocabulary: ok -> success, refused, failure.
    assert!(page.body.contains("data-outcome=\"success\""));
    assert!(page.body.contains("data-outcome=\"refused\""));
    assert!(page.body.contains("data-outcome=\"failure\""));
    assert!(!page.body.contains("data-outcome=\"ok\""));
    // The person by email, the id on hover; details as fields.
    assert!(
        page.body
            .contains(&format!("title=\"user id {}\">grace@example.com", u.id))
    );
    assert!(
        page.body.contains(
            "<dt>grant types</dt><dd class=\"id\">authorization_code, refresh_token</dd>"
        )
    );
    assert!(
        !page.body.contains("{&#34;") && !page.body.contains("{\""),
        "no raw JSON"
    );

    let refused = b
        .get(&app.url("/admin/audit?q=audit-app&outcome=refused"))
        .await;
    assert_eq!(rows(&refused.body), ["sign_in.failed"]);
    let signins = b
        .get(&app.url("/admin/audit?q=audit-app&event=sign_in."))
        .await;
    assert_eq!(rows(&signins.body), ["sign_in.succeeded", "sign_in.failed"]);
    // An actor by email also finds the events recorded under their id.
    let grace = b
        .get(&app.url("/admin/audit?q=audit-app&actor=grace%40example.com"))
        .await;
    assert_eq!(
        rows(&grace.body),
        ["admin.client.created", "sign_in.succeeded"]
    );
    let today = authgate_server::format::time(Some(at))[..10].to_owned();
    let recent = b
        .get(&app.url(&format!("/admin/audit?q=audit-app&from={today}&to={today}")))
        .await;
    assert_eq!(rows(&recent.body).len(), 3, "{}", recent.body);
    for bad in ["from=yesterday", "outcome=ok", "before=x"] {
        let p = b.get(&app.url(&format!("/admin/audit?{bad}"))).await;
        assert_eq!(p.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn api_reference_is_the_openapi_document_for_people() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let p = b.get(&app.url("/admin/api-reference")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let doc: Value = reqwest::get(app.url("/admin/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(
            p.body
                .contains(&format!("<code class=\"id\">{path}</code>")),
            "{path} missing"
        );
    }
    assert!(p.body.contains("id=\"schema-ErrorBody\""));
    assert!(p.body.contains("aria-current=\"page\">API reference"));
    assert!(
        !p.body.contains("<script src=\"http"),
        "nothing from elsewhere"
    );
    // Administrators only.
    let anon = Browser::new().get(&app.url("/admin/api-reference")).await;
    assert_eq!(anon.status, 303);
}
