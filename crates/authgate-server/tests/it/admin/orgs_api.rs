//! The admin API's organizations: create, domains (claimed, then verified
//! by hand), connections, policy edits, deactivation ending members'
//! grants, group -> scope rules, and the answers to bad input.

use super::*;
use crate::browser::{Browser, VERIFIER, add_user, authorize_through, exchange, refresh};
use serde_json::json;

#[tokio::test]
async fn organizations_domains_connections_and_deactivation() {
    let a = Admin::start().await;
    // Bad input names the field.
    let (s, v) = a
        .call(
            "POST",
            "/orgs",
            Some(json!({"id": "Not A Slug", "name": "x"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "id");
    let (s, v) = a
        .call("POST", "/orgs", Some(json!({"id": "acme", "name": ""})))
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "name");
    let (s, v) = a.call("POST", "/orgs", Some(json!([1, 2]))).await;
    assert_eq!(s, 400, "{v}");

    let (s, v) = a
        .call(
            "POST",
            "/orgs",
            Some(json!({"id": "acme", "name": "Acme Inc", "forbid_local_passwords": false})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], "acme");
    assert_eq!(v["disabled"], false);
    let (s, v) = a
        .call(
            "POST",
            "/orgs",
            Some(json!({"id": "acme", "name": "Again"})),
        )
        .await;
    assert_eq!(s, 409, "{v}");

    // A claimed domain comes with the TXT record that proves it; it
    // routes nothing until verified.
    let (s, v) = a
        .call(
            "POST",
            "/orgs/acme/domains",
            Some(json!({"domain": "ACME.test"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["domain"], "acme.test");
    assert_eq!(v["verified"], false);
    assert_eq!(v["txt_name"], "_authgate-challenge.acme.test");
    assert!(
        v["txt_value"]
            .as_str()
            .unwrap()
            .starts_with("authgate-domain-verification=")
    );
    let (s, v) = a
        .call(
            "POST",
            "/orgs/acme/domains",
            Some(json!({"domain": "not a domain"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "domain");
    let (s, v) = a
        .call(
            "POST",
            "/orgs/nope/domains",
            Some(json!({"domain": "x.test"})),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    assert!(
        authgate_authority::orgs::org_for_email(a.app.state(), "ann@acme.test")
            .await
            .unwrap()
            .is_none(),
        "an unverified domain makes nobody a member"
    );
    let (s, v) = a
        .call("POST", "/orgs/acme/domains/acme.test/mark-verified", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["verified"], true);
    assert_eq!(v["method"], "manual");
    assert_eq!(
        authgate_authority::orgs::org_for_email(a.app.state(), "ann@acme.test")
            .await
            .unwrap()
            .map(|o| o.id)
            .as_deref(),
        Some("acme")
    );

    // Connections and policy.
    let (s, v) = a
        .call(
            "POST",
            "/orgs/acme/connections",
            Some(json!({"connection_id": "acme-okta"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connection_ids"], json!(["acme-okta"]));
    let (s, v) = a
        .call("DELETE", "/orgs/acme/connections/acme-okta", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connection_ids"], json!([]));
    let (s, v) = a
        .call(
            "PUT",
            "/orgs/acme",
            Some(json!({"name": "Acme Corp", "forbid_local_passwords": true, "require_mfa": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "Acme Corp");
    assert_eq!(v["forbid_local_passwords"], true);
    assert_eq!(v["require_mfa"], true);
    assert!(
        !authgate_authority::orgs::local_password_allowed(a.app.state(), "ann@acme.test")
            .await
            .unwrap()
    );
    let (s, v) = a
        .call("PUT", "/orgs/acme", Some(json!({"name": "Acme Corp"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = a.call("GET", "/orgs", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["domains"][0]["domain"], "acme.test");

    // Deactivation ends a member's grant, and says how many.
    add_user(&a.app, "ann@acme.test").await;
    let p = authorize_through(&a.app, &Browser::new(), "ann@acme.test", &[]).await;
    let (s, tok) = exchange(&a.app, &p.query()["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let (s, v) = a.call("POST", "/orgs/acme/disable", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["org"]["disabled"], true);
    assert_eq!(v["members"], 1);
    assert_eq!(v["grants_revoked"], 1);
    let (s, v) = refresh(&a.app, tok["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(s, 400, "a revoked grant refreshes nothing: {v}");
    let (s, v) = a.call("POST", "/orgs/acme/enable", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["org"]["disabled"], false);
    audit_event(&a.app, "admin.org.disabled", |_| true).await;

    // Removing the domain, then the organization.
    let (s, v) = a.call("DELETE", "/orgs/acme/domains/acme.test", None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = a.call("DELETE", "/orgs/acme/domains/acme.test", None).await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = a.call("DELETE", "/orgs/acme", None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = a.call("GET", "/orgs/acme", None).await;
    assert_eq!(s, 404, "{v}");
    a.app.shutdown().await;
}

#[tokio::test]
async fn scope_rules_by_group_per_mcp_server() {
    let a = Admin::start().await;
    let (s, v) = a.call("GET", "/resources/weather/scope-rules", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"], json!([]));
    let (s, v) = a
        .call(
            "PUT",
            "/resources/weather/scope-rules/weather:write",
            Some(json!({"groups": ["forecasters"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["scope"], "weather:write");
    assert_eq!(v["items"][0]["groups"], json!(["forecasters"]));
    // A scope the server does not have, and a server that does not exist.
    let (s, v) = a
        .call(
            "PUT",
            "/resources/weather/scope-rules/nope:scope",
            Some(json!({"groups": ["x"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = a.call("GET", "/resources/nope/scope-rules", None).await;
    assert_eq!(s, 404, "{v}");
    // An empty list removes the rule.
    let (s, v) = a
        .call(
            "PUT",
            "/resources/weather/scope-rules/weather:write",
            Some(json!({"groups": []})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"], json!([]));
    a.app.shutdown().await;
}

/// The dashboard's organization pages do what the API does: add, claim a
/// domain, mark it verified, edit the policy, deactivate; CSRF checked.
#[tokio::test]
async fn dashboard_manages_organizations() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = super::dashboard::admin_browser(&app).await;
    let list = b.get(&app.url("/admin/orgs")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("id=\"no-orgs\""), "{}", list.body);
    let csrf = list.hidden("csrf");
    // A bad id: the form again, with the reason.
    let p = b
        .post(
            &app.url("/admin/orgs"),
            &[("csrf", &csrf), ("id", "Bad Id"), ("name", "Acme")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("id=\"form-error\""), "{}", p.body);
    // Without the form token: refused.
    let p = b
        .post(&app.url("/admin/orgs"), &[("id", "acme"), ("name", "Acme")])
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = b
        .post(
            &app.url("/admin/orgs"),
            &[("csrf", &csrf), ("id", "acme"), ("name", "Acme Inc")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/admin/orgs/acme?notice=created")
    );
    let p = b
        .post(
            &app.url("/admin/orgs/acme/domains"),
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&app.url("/admin/orgs/acme")).await;
    assert!(
        page.body.contains("_authgate-challenge.acme.test TXT"),
        "the record to publish is shown: {}",
        page.body
    );
    assert!(
        page.body.contains("data-verified=\"false\""),
        "{}",
        page.body
    );
    let p = b
        .post(
            &app.url("/admin/orgs/acme/domains/mark-verified"),
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&app.url("/admin/orgs/acme")).await;
    assert!(
        page.body.contains("data-verified=\"true\""),
        "{}",
        page.body
    );
    let p = b
        .post(
            &app.url("/admin/orgs/acme/edit"),
            &[
                ("csrf", &csrf),
                ("name", "Acme Corp"),
                ("connections", "acme-okta, acme-saml"),
                ("forbid_local_passwords", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let o = orgs_view(&app, "acme").await;
    assert_eq!(o.name, "Acme Corp");
    assert_eq!(o.connection_ids, vec!["acme-okta", "acme-saml"]);
    assert!(o.forbid_local_passwords);
    assert!(!o.require_mfa);
    let p = b
        .post(&app.url("/admin/orgs/acme/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(orgs_view(&app, "acme").await.disabled);
    let page = b.get(&app.url("/admin/orgs/acme")).await;
    assert!(
        page.body.contains("id=\"org-deactivated\""),
        "{}",
        page.body
    );
    let p = b
        .post(&app.url("/admin/orgs/acme/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&app.url("/admin/orgs/acme")).await;
    assert_eq!(page.status, 404, "{}", page.body);
    app.shutdown().await;
}

async fn orgs_view(app: &TestApp, id: &str) -> authgate_authority::orgs::manage::OrgView {
    authgate_authority::orgs::manage::show_org(app.state(), id)
        .await
        .unwrap()
}
