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

/// A SAML connection through the admin API (the certificate of a real
/// pysaml2 IdP), its SP entity id and ACS to register, a bad certificate
/// named as the field at fault; then the dashboard's page of it and its
/// settings form.
#[tokio::test]
async fn saml_connections_through_the_api_and_the_dashboard() {
    let idp = crate::saml::Idp::start().await;
    let a = Admin::start().await;
    let resp = a.app.http.get(a.api("/openapi.json")).send().await.unwrap();
    let doc: serde_json::Value = resp.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    // The documented body of POST /connections is this one (it was once
    // shadowed by the organizations' `{connection_id}` input of the same
    // type name).
    assert!(
        schemas["ConnectionInput"]["properties"]["saml"].is_object(),
        "{}",
        schemas["ConnectionInput"]
    );
    assert!(
        schemas["SamlInput"]["properties"]["sso_url"].is_object(),
        "{schemas}"
    );
    assert!(schemas["OrgConnectionInput"]["properties"]["connection_id"].is_object());
    let saml = |cert: &str| {
        json!({"idp_entity_id": idp.entity_id, "sso_url": idp.sso_url,
               "idp_certificates": [cert]})
    };
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({"id": "corp", "display_name": "Corp", "saml": saml("MIIB-not-base64!")})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "idp_certificates", "{v}");
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(json!({"id": "corp", "display_name": "Corp",
                        "saml": {"idp_entity_id": idp.entity_id, "sso_url": "ftp://x",
                                 "idp_certificates": [idp.cert_pem]}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["field"], "sso_url", "{v}");
    let (s, v) = a
        .call(
            "POST",
            "/connections",
            Some(
                json!({"id": "corp", "display_name": "Corp", "saml": saml(&idp.cert_pem),
                        "trusted_email_domains": ["acme.example"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "saml");
    assert_eq!(v["has_secret"], false);
    assert_eq!(v["sp_entity_id"], format!("{}/saml/corp", a.app.origin()));
    assert_eq!(v["acs_url"], format!("{}/saml/corp/acs", a.app.origin()));
    assert_eq!(v["config"]["idp_entity_id"], idp.entity_id);
    // An edit without certificates keeps the stored ones.
    let (s, v) = a
        .call(
            "PUT",
            "/connections/corp",
            Some(json!({"display_name": "Corp SSO",
                        "saml": {"idp_entity_id": idp.entity_id, "sso_url": idp.sso_url}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["display_name"], "Corp SSO");
    assert_eq!(v["config"]["idp_certificates"][0], idp.cert_pem.trim());
    // Another IdP, or another subject attribute, is another connection:
    // the subjects linked through this one mean people at this IdP.
    let (s, e) = a
        .call(
            "PUT",
            "/connections/corp",
            Some(json!({"display_name": "Corp SSO",
                        "saml": {"idp_entity_id": "https://evil.example/idp", "sso_url": idp.sso_url,
                                 "idp_certificates": [idp.cert_pem]}})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "idp_entity_id", "{e}");
    let (s, e) = a
        .call(
            "PUT",
            "/connections/corp",
            Some(json!({"display_name": "Corp SSO",
                        "saml": {"idp_entity_id": idp.entity_id, "sso_url": idp.sso_url,
                                 "subject_attribute": "employeeNumber"}})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "subject_attribute", "{e}");

    let app = &a.app;
    let b = super::dashboard::admin_browser(app).await;
    let page = b.get(&app.url("/admin/connections/corp")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("id=\"acs-url\">{}/saml/corp/acs<", app.origin())),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"sp-entity-id\""), "{}", page.body);
    assert!(!page.body.contains("id=\"redirect-uri\""), "{}", page.body);
    let csrf = page.hidden("csrf");
    let p = b
        .post(
            &app.url("/admin/connections/corp/edit"),
            &[
                ("csrf", csrf.as_str()),
                ("display_name", "Corp Sign-in"),
                ("idp_entity_id", idp.entity_id.as_str()),
                ("sso_url", idp.sso_url.as_str()),
                ("idp_certificate", ""),
                ("trusted_email_domains", "acme.example"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let c = app.store.get_connection("corp").await.unwrap().unwrap();
    assert_eq!(c.display_name, "Corp Sign-in");
    assert_eq!(c.config["idp_certificates"][0], idp.cert_pem.trim());
    // The dashboard's add form for SAML.
    let p = b
        .post(
            &app.url("/admin/connections"),
            &[
                ("csrf", csrf.as_str()),
                ("kind", "saml"),
                ("id", "corp2"),
                ("display_name", "Corp 2"),
                ("idp_entity_id", idp.entity_id.as_str()),
                ("sso_url", idp.sso_url.as_str()),
                ("idp_certificate", idp.cert_pem.as_str()),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let c = app.store.get_connection("corp2").await.unwrap().unwrap();
    assert_eq!(c.kind.as_str(), "saml");
    a.app.shutdown().await;
}
