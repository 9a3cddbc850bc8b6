//! Issue 17, "fail closed": who may get which token. The probes from the
//! issue, each refused: the admin API through a client with no resource
//! list (or `"*"`), anonymous machine tokens through dynamic registration,
//! scopes beyond what a client registered, refresh tokens and strangers at
//! /introspect, the admin scope in discovery.

use crate::browser::{self, Browser, REDIRECT, VERIFIER, add_user};
use crate::registration::{authorize_code, register};
use crate::support::*;
use authgate_authority::config::{ClientConfig, Config};
use serde_json::{Value, json};

const ADMIN_SCOPE: &str = "authgate:admin";

fn confidential(id: &str, resources: &[&str], grant_types: &[&str]) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        client_name: None,
        client_secret: Some(SVC_SECRET.into()),
        client_secret_file: None,
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        redirect_uris: if grant_types.contains(&"authorization_code") {
            vec![REDIRECT.into()]
        } else {
            vec![]
        },
        grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        scopes: None,
    }
}

/// The default config plus `bare` (confidential, no resource list, as
/// `authgate client add --confidential` made it), `star` (`"*"`),
/// `notes-rs` (notes' resource server) and `webapp` (a confidential
/// authorization code client for weather).
fn config() -> Config {
    let mut cfg = default_config();
    cfg.clients.extend([
        confidential("bare", &[], &["client_credentials"]),
        confidential("star", &["*"], &["client_credentials"]),
        confidential("notes-rs", &["notes"], &["client_credentials"]),
        confidential(
            "webapp",
            &["weather"],
            &["authorization_code", "refresh_token"],
        ),
    ]);
    cfg
}

/// Weather gives dynamic and metadata document clients machine tokens.
fn dynamic_cc_config() -> Config {
    let mut cfg = config();
    cfg.resources[0].allow_dynamic_client_credentials = true;
    cfg
}

async fn cc(app: &TestApp, id: &str, secret: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let (s, b, _) = app.token_form(Some((id, secret)), &form).await;
    (s, b)
}

fn refused(s: u16, b: &Value, error: &str) {
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], error, "{b}");
    assert!(b.get("access_token").is_none(), "{b}");
}

fn admin_uri(app: &TestApp) -> String {
    app.url("/admin/api/v1")
}

#[tokio::test]
async fn admin_takeover_through_a_client_without_resources_is_refused() {
    let app = TestApp::start_with(config(), "").await;
    let admin = admin_uri(&app);
    // The probe from the issue: name the admin API explicitly.
    let (s, b) = cc(
        &app,
        "bare",
        SVC_SECRET,
        &[("resource", &admin), ("scope", ADMIN_SCOPE)],
    )
    .await;
    refused(s, &b, "invalid_target");
    // "*" is every MCP server but never the admin API.
    let (s, b) = cc(
        &app,
        "star",
        SVC_SECRET,
        &[("resource", &admin), ("scope", ADMIN_SCOPE)],
    )
    .await;
    refused(s, &b, "invalid_target");
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("authgate-admin"),
        "{b}"
    );
    // Nor through the public client (also "*") at /authorize.
    let p = Browser::new()
        .get(&browser::authorize_url(
            &app,
            &[("resource", &admin), ("scope", ADMIN_SCOPE)],
        ))
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.query().get("error").map(String::as_str),
        Some("invalid_target")
    );
    // The admin API was never reachable: no token, so 401.
    let r = app
        .http
        .get(app.url("/admin/api/v1/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn a_client_without_resources_gets_nothing_and_is_told_what_to_configure() {
    let app = TestApp::start_with(config(), "").await;
    for extra in [vec![], vec![("resource", WEATHER_URI)]] {
        let (s, b) = cc(&app, "bare", SVC_SECRET, &extra).await;
        refused(s, &b, "invalid_target");
        let d = b["error_description"].as_str().unwrap();
        assert!(d.contains("resources") && d.contains("\"*\""), "{d}");
    }
    // "*" reaches any ordinary MCP server.
    let (s, b) = cc(&app, "star", SVC_SECRET, &[("resource", NOTES_URI)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "notes:read");
    // A listed client reaches only what it lists.
    let (s, b) = cc(&app, "notes-rs", SVC_SECRET, &[("resource", WEATHER_URI)]).await;
    refused(s, &b, "invalid_target");
    app.shutdown().await;
}

fn dcr_machine_body(scope: &str) -> Value {
    json!({
        "client_name": "probe",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": scope,
    })
}

#[tokio::test]
async fn anonymous_machine_clients_are_refused_by_default() {
    let app = TestApp::start_with(config(), "").await;
    // No MCP server gives dynamic clients client_credentials: registration
    // says so at once.
    let (s, b, _) = register(&app, &dcr_machine_body("weather:read")).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], "invalid_client_metadata");
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .starts_with("grant_types"),
        "{b}"
    );
    app.shutdown().await;

    // Notes opts in, weather does not: the client registers, but gets no
    // machine token for weather.
    let mut cfg = config();
    cfg.resources[1].allow_dynamic_client_credentials = true;
    let app = TestApp::start_with(cfg, "").await;
    let (s, reg, _) = register(&app, &dcr_machine_body("weather:read notes:read")).await;
    assert_eq!(s, 201, "{reg}");
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let (s, b) = cc(&app, id, secret, &[("resource", WEATHER_URI)]).await;
    refused(s, &b, "unauthorized_client");
    let (s, b) = cc(&app, id, secret, &[("resource", NOTES_URI)]).await;
    assert_eq!(s, 200, "{b}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_registered_scope_caps_machine_tokens() {
    let app = TestApp::start_with(dynamic_cc_config(), "").await;
    let (s, reg, _) = register(&app, &dcr_machine_body("weather:read")).await;
    assert_eq!(s, 201, "{reg}");
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    // The probe from the issue: registered weather:read, asked weather:write.
    let (s, b) = cc(
        &app,
        id,
        secret,
        &[("resource", WEATHER_URI), ("scope", "weather:write")],
    )
    .await;
    refused(s, &b, "invalid_scope");
    let (s, b) = cc(
        &app,
        id,
        secret,
        &[("resource", WEATHER_URI), ("scope", "weather:read")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "weather:read");
    // Nothing asked: the defaults within the ceiling.
    let (s, b) = cc(&app, id, secret, &[("resource", WEATHER_URI)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "weather:read");
    // Notes did not opt in.
    let (s, b) = cc(&app, id, secret, &[("resource", NOTES_URI)]).await;
    refused(s, &b, "unauthorized_client");
    // Never the admin API, whatever the switches.
    let admin = admin_uri(&app);
    let (s, b) = cc(
        &app,
        id,
        secret,
        &[("resource", &admin), ("scope", ADMIN_SCOPE)],
    )
    .await;
    refused(s, &b, "invalid_target");
    app.shutdown().await;
}

/// A machine client that registered no `scope` has no "any" ceiling: it
/// gets at most the MCP server's default scopes.
#[tokio::test]
async fn a_machine_client_without_a_registered_scope_gets_only_the_defaults() {
    let app = TestApp::start_with(dynamic_cc_config(), "").await;
    let mut body = dcr_machine_body("");
    body.as_object_mut().unwrap().remove("scope");
    let (s, reg, _) = register(&app, &body).await;
    assert_eq!(s, 201, "{reg}");
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let (s, b) = cc(
        &app,
        id,
        secret,
        &[("resource", WEATHER_URI), ("scope", "weather:write")],
    )
    .await;
    refused(s, &b, "invalid_scope");
    let (s, b) = cc(&app, id, secret, &[("resource", WEATHER_URI)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "weather:read");
    app.shutdown().await;
}

#[tokio::test]
async fn an_administrators_scopes_cap_what_a_person_can_grant() {
    let mut cfg = config();
    let mut narrow = confidential(
        "narrow",
        &["weather"],
        &["authorization_code", "refresh_token"],
    );
    narrow.scopes = Some(vec!["weather:read".into()]);
    cfg.clients.push(narrow);
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    // Asking beyond the ceiling is invalid_scope (it used to be dropped
    // silently).
    let p = Browser::new()
        .get(&browser::authorize_url(
            &app,
            &[("client_id", "narrow"), ("scope", "weather:write")],
        ))
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let q = p.query();
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_scope"));
    assert!(!q.contains_key("code"));
    // Within the ceiling it works, and a refresh cannot widen it.
    let code = authorize_code(&app, "narrow", REDIRECT, "ada@example.com").await;
    let (s, b, _) = app
        .token_form(
            Some(("narrow", SVC_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "weather:read");
    let rt = b["refresh_token"].as_str().unwrap();
    let (s, b, _) = app
        .token_form(
            Some(("narrow", SVC_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "weather:write"),
            ],
        )
        .await;
    refused(s, &b, "invalid_scope");
    app.shutdown().await;
}

async fn introspect(app: &TestApp, id: &str, secret: &str, token: &str) -> Value {
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// A person's tokens for `webapp`: (access token, refresh token).
async fn webapp_tokens(app: &TestApp) -> (String, String) {
    add_user(app, "ada@example.com").await;
    let code = authorize_code(app, "webapp", REDIRECT, "ada@example.com").await;
    let (s, b, _) = app
        .token_form(
            Some(("webapp", SVC_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (
        b["access_token"].as_str().unwrap().to_owned(),
        b["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn refresh_tokens_introspect_only_for_their_own_client() {
    let app = TestApp::start_with(config(), "").await;
    let (_, rt) = webapp_tokens(&app).await;
    // svc is weather's resource server, yet a refresh token is nothing it
    // may accept: inactive, nothing revealed.
    let v = introspect(&app, "svc", SVC_SECRET, &rt).await;
    assert_eq!(v, json!({"active": false}));
    // A client registered anonymously a second ago learns nothing either.
    let (s, reg, _) = register(
        &app,
        &json!({
            "client_name": "probe",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await;
    assert_eq!(s, 201, "{reg}");
    let probe = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let v = introspect(&app, probe.0, probe.1, &rt).await;
    assert_eq!(v, json!({"active": false}));
    // Its own client may ask, and is told what kind of token it is.
    let v = introspect(&app, "webapp", SVC_SECRET, &rt).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "refresh_token");
    app.shutdown().await;
}

#[tokio::test]
async fn access_tokens_introspect_only_for_their_client_and_audience() {
    let app = TestApp::start_with(config(), "").await;
    let (at, _) = webapp_tokens(&app).await;
    // Its own client, and weather's resource server (svc lists weather).
    for (id, why) in [("webapp", "own client"), ("svc", "resource server")] {
        let v = introspect(&app, id, SVC_SECRET, &at).await;
        assert_eq!(v["active"], true, "{why}: {v}");
        assert_eq!(v["token_type"], "Bearer", "{why}: {v}");
        assert_eq!(v["aud"], WEATHER_URI);
    }
    // Another MCP server's resource server, a client granted "*" (not a
    // resource server of anything), and an anonymous dynamic client: no.
    let (s, reg, _) = register(
        &app,
        &json!({
            "client_name": "probe",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await;
    assert_eq!(s, 201, "{reg}");
    let probe = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    for (id, secret) in [
        ("notes-rs", SVC_SECRET),
        ("star", SVC_SECRET),
        (probe.0, probe.1),
    ] {
        let v = introspect(&app, id, secret, &at).await;
        assert_eq!(v, json!({"active": false}), "{id}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn discovery_does_not_advertise_the_admin_scope() {
    let app = TestApp::start_with(config(), "").await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let v: Value = app
            .http
            .get(format!("{}{path}", app.origin()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scopes = v["scopes_supported"].as_array().expect("scopes_supported");
        assert!(scopes.contains(&json!("weather:read")), "{path}: {v}");
        assert!(!scopes.contains(&json!(ADMIN_SCOPE)), "{path}: {v}");
    }
    app.shutdown().await;
}
