//! The admin API's and the dashboard's identity-provider connections:
//! presets and generic issuers, the secret sealed and never returned, the
//! redirect URI to register, disable/enable/delete, and bad input.

use super::*;
use serde_json::json;

#[tokio::test]
async fn connections_through_the_api_never_return_the_secret() {
    let a = Admin::start().await;
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({"id": "Bad Id", "client_id": "x", "client_secret": "s"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "id");
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({"id": "g", "preset": "myspace", "client_id": "x", "client_secret": "s"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "preset");
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({"id": "g", "preset": "google", "client_id": "x"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "client_secret");

    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({
                "id": "google",
                "preset": "google",
                "client_id": "cid.apps.example",
                "client_secret": "TOP-SECRET-VALUE",
                "show_on_login": true
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "oidc");
    assert_eq!(v["display_name"], "Google");
    assert_eq!(v["has_secret"], true);
    assert_eq!(
        v["redirect_uri"],
        format!("{}/federation/google/callback", a.app.origin())
    );
    assert!(!v.to_string().contains("TOP-SECRET-VALUE"), "{v}");
    let stored = a.app.store.get_connection("google").await.unwrap().unwrap();
    let sealed = stored.secret_sealed.expect("sealed");
    assert!(
        !String::from_utf8_lossy(&sealed).contains("TOP-SECRET-VALUE"),
        "sealed at rest"
    );
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(
                json!({"id": "google", "preset": "google", "client_id": "x", "client_secret": "s"}),
            ),
        )
        .await;
    assert_eq!(s, 409, "{v}");

    // A generic issuer; an edit without a secret keeps the stored one.
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({
                "id": "acme-okta",
                "display_name": "Acme",
                "issuer": "https://acme.okta.example",
                "client_id": "acme",
                "client_secret": "s3",
                "trusted_email_domains": ["acme.test"]
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = a
        .call(
            "PUT",
            "/connections/acme-okta",
            Some(json!({
                "issuer": "https://acme.okta.example",
                "client_id": "acme",
                "display_name": "Acme SSO",
                "trusted_email_domains": ["acme.test"]
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Another issuer: refused even with a secret, since its subjects are
    // other people than the ones linked through this connection.
    let (s, e) = a
        .call(
            "PUT",
            "/connections/acme-okta",
            Some(json!({
                "issuer": "https://evil.example",
                "client_id": "acme",
                "client_secret": "s4",
                "display_name": "Acme SSO"
            })),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "issuer");
    // Another client id without a new secret: refused, so the stored
    // secret never goes to a client it was not issued for.
    let (s, e) = a
        .call(
            "PUT",
            "/connections/acme-okta",
            Some(json!({
                "issuer": "https://acme.okta.example",
                "client_id": "acme-2",
                "display_name": "Acme SSO"
            })),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "client_secret");
    let (s, e) = a.call("GET", "/connections/acme-okta", None).await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(
        e["config"]["issuer"], "https://acme.okta.example",
        "nothing changed: {e}"
    );
    assert_eq!(e["config"]["client_id"], "acme", "nothing changed: {e}");
    assert_eq!(v["display_name"], "Acme SSO");
    assert_eq!(v["has_secret"], true);
    let (s, v) = a.call("GET", "/connections", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    let (s, v) = a.call("POST", "/connections/google/disable", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["disabled"], true);
    let (s, v) = a.call("POST", "/connections/google/enable", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["disabled"], false);
    let (s, v) = a.call("DELETE", "/connections/google", None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = a.call("GET", "/connections/google", None).await;
    assert_eq!(s, 404, "{v}");
    audit_event(&a.app, "admin.connection.created", |_| true).await;
    a.app.shutdown().await;
}

#[tokio::test]
async fn the_dashboard_adds_and_disables_a_connection() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = super::dashboard::admin_browser(&app).await;
    let list = b.get(&app.url("/admin/connections")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("id=\"no-connections\""), "{}", list.body);
    let csrf = list.hidden("csrf");
    // Missing secret: the form again with the reason, nothing stored.
    let p = b
        .post(
            &app.url("/admin/connections"),
            &[
                ("csrf", csrf.as_str()),
                ("id", "gh"),
                ("preset", "github"),
                ("client_id", "Iv1.abc"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("id=\"form-error\""), "{}", p.body);
    assert!(app.store.get_connection("gh").await.unwrap().is_none());
    let p = b
        .post(
            &app.url("/admin/connections"),
            &[
                ("csrf", csrf.as_str()),
                ("id", "gh"),
                ("preset", "github"),
                ("client_id", "Iv1.abc"),
                ("client_secret", "gh-secret-123"),
                ("show_on_login", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&app.url("/admin/connections/gh")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("{}/federation/gh/callback", app.origin())),
        "{}",
        page.body
    );
    assert!(!page.body.contains("gh-secret-123"));
    let p = b
        .post(
            &app.url("/admin/connections/gh/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        app.store
            .get_connection("gh")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let p = b
        .post(&app.url("/admin/connections/gh/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(app.store.get_connection("gh").await.unwrap().is_none());
    app.shutdown().await;
}
