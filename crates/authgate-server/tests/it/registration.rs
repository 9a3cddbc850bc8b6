//! Dynamic client registration (RFC 7591) and the client configuration
//! endpoint (RFC 7592) over real HTTP: the bodies real MCP clients send,
//! refusals naming the field, token enforcement, rate limits per address,
//! de-duplication, the client cap, reaping, initial access tokens.

use crate::browser::{self, Browser, CHALLENGE, PASSWORD, VERIFIER};
use crate::support::*;
use authgate_core::model::ClientKind;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};

pub async fn register_with(
    http: &reqwest::Client,
    app: &TestApp,
    body: &Value,
) -> (u16, Value, HeaderMap) {
    let r = http
        .post(app.url("/register"))
        .json(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

pub async fn register(app: &TestApp, body: &Value) -> (u16, Value, HeaderMap) {
    register_with(&app.http, app, body).await
}

/// The MCP TypeScript SDK's registration (public client, loopback redirect).
pub fn typescript_sdk_body(port: u16) -> Value {
    json!({
        "redirect_uris": [format!("http://localhost:{port}/callback")],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "My MCP Client",
        "client_uri": "https://github.com/modelcontextprotocol/typescript-sdk",
    })
}

/// The MCP Python SDK's registration: native, client_secret_post, scope.
pub fn python_sdk_body() -> Value {
    json!({
        "redirect_uris": ["http://localhost:3030/callback"],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "weather:read",
        "client_name": "Python MCP client",
        "application_type": "native",
    })
}

/// mcp-remote's registration: software_id/software_version, no
/// application_type.
pub fn mcp_remote_body() -> Value {
    json!({
        "redirect_uris": ["http://localhost:3334/oauth/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "MCP CLI Proxy",
        "client_uri": "https://github.com/geelen/mcp-remote",
        "software_id": "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d",
        "software_version": "0.1.29",
    })
}

/// /authorize → sign in → consent for `client_id`, returning the code sent
/// to `redirect`.
pub async fn authorize_code(app: &TestApp, client_id: &str, redirect: &str, email: &str) -> String {
    let b = Browser::new();
    let url = browser::authorize_url(app, &[("client_id", client_id), ("redirect_uri", redirect)]);
    let mut p = b.get(&url).await;
    for _ in 0..4 {
        assert_eq!(p.status, 303, "{}", p.body);
        let loc = p.location.clone().unwrap();
        if loc.starts_with(redirect) {
            let q = p.query();
            assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
            return q
                .get("code")
                .cloned()
                .unwrap_or_else(|| panic!("no code: {loc}"));
        }
        let page = b.get(&browser::abs(app, &loc)).await;
        assert_eq!(page.status, 200, "{loc}: {}", page.body);
        let (path, extra) = if loc.contains("/login") {
            ("/login", vec![("email", email), ("password", PASSWORD)])
        } else {
            ("/consent", vec![("decision", "allow")])
        };
        let csrf = page.hidden("csrf");
        let r = page.hidden("r");
        let mut form = vec![("csrf", csrf.as_str()), ("r", r.as_str())];
        form.extend(extra);
        p = b.post(&app.url(path), &form).await;
    }
    panic!("no redirect to the client after four steps");
}

fn assert_echoes(sent: &Value, got: &Value) {
    for (k, v) in sent.as_object().unwrap() {
        assert_eq!(&got[k], v, "field {k} not echoed: {got}");
    }
}

#[tokio::test]
async fn real_client_bodies_register_echo_and_complete_a_code_flow() {
    let app = TestApp::start().await;
    browser::add_user(&app, "ada@example.com").await;

    // TypeScript SDK: public client, no secret.
    let body = typescript_sdk_body(49200);
    let (s, reg, headers) = register(&app, &body).await;
    assert_eq!(s, 201, "{reg}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_echoes(&body, &reg);
    assert!(reg.get("client_secret").is_none(), "{reg}");
    assert!(reg.get("client_secret_expires_at").is_none());
    assert_eq!(reg["application_type"], "native");
    assert!(reg["client_id_issued_at"].as_i64().unwrap() > 0);
    let id = reg["client_id"].as_str().unwrap();
    assert_eq!(
        reg["registration_client_uri"],
        app.url(&format!("/register/{id}"))
    );
    assert!(reg["registration_access_token"].as_str().unwrap().len() >= 32);
    // Any loopback port works (RFC 8252 §7.3).
    let redirect = "http://localhost:51999/callback";
    let code = authorize_code(&app, id, redirect, "ada@example.com").await;
    let (s, tok, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", redirect),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{tok}");
    assert!(tok["refresh_token"].is_string());

    // Python SDK: native, client_secret_post — gets a secret and uses it.
    let body = python_sdk_body();
    let (s, reg, _) = register(&app, &body).await;
    assert_eq!(s, 201, "{reg}");
    assert_echoes(&body, &reg);
    let secret = reg["client_secret"].as_str().expect("secret").to_string();
    assert_eq!(reg["client_secret_expires_at"], 0);
    let id = reg["client_id"].as_str().unwrap().to_string();
    let redirect = "http://localhost:3030/callback";
    let code = authorize_code(&app, &id, redirect, "ada@example.com").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", id.as_str()),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", redirect),
        ("resource", WEATHER_URI),
    ];
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", &secret));
    let (s, tok, _) = app.token_form(None, &with_secret).await;
    assert_eq!(s, 200, "{tok}");
    // …and without its secret it is refused.
    let code = authorize_code(&app, &id, redirect, "ada@example.com").await;
    let mut form = form.to_vec();
    form[2] = ("code", code.as_str());
    let (s, tok, _) = app.token_form(None, &form).await;
    assert_eq!(s, 401, "{tok}");
    assert_eq!(tok["error"], "invalid_client");

    // mcp-remote: software_id / software_version echoed, application_type inferred.
    let body = mcp_remote_body();
    let (s, reg, _) = register(&app, &body).await;
    assert_eq!(s, 201, "{reg}");
    assert_echoes(&body, &reg);
    assert_eq!(reg["application_type"], "native");
    let id = reg["client_id"].as_str().unwrap();
    let redirect = "http://localhost:3334/oauth/callback";
    let code = authorize_code(&app, id, redirect, "ada@example.com").await;
    let (s, tok, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", redirect),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{tok}");
    let _ = CHALLENGE;

    // Listed with its kind and source.
    let row = app.store.get_client(id).await.unwrap().unwrap();
    assert_eq!(row.kind, ClientKind::Dynamic);
    assert_eq!(
        row.metadata.software_id.as_deref(),
        Some("2e6dc280-f3c3-4e01-99a7-8181dbd1d23d")
    );
    assert!(row.registration_access_token_hash.is_some());
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_defaults_filled() {
    let app = TestApp::start().await;
    let (s, reg, _) = register(
        &app,
        &json!({
            "redirect_uris": ["cursor://anysphere.cursor-retrieval/oauth/callback"],
            "client_name": "Cursor",
            "some_vendor_field": {"x": 1},
            "software_statement": "eyJ...",
        }),
    )
    .await;
    assert_eq!(s, 201, "{reg}");
    assert!(reg.get("some_vendor_field").is_none());
    assert_eq!(reg["application_type"], "native");
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));

    // A web client with an https redirect gets the RFC 7591 default.
    let (s, reg, _) = register(&app, &json!({"redirect_uris": ["https://app.example/cb"]})).await;
    assert_eq!(s, 201, "{reg}");
    assert_eq!(reg["application_type"], "web");
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert!(reg["client_secret"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_get_the_right_error_naming_the_field() {
    let mut cfg = default_config();
    cfg.dynamic_registration.rate_limit_burst = 100;
    let app = TestApp::start_with(cfg, "").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"client_name": "x"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#frag"]}),
            "invalid_redirect_uri",
            "fragment",
        ),
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
            "https",
        ),
        (
            json!({"redirect_uris": ["https://*.example/cb"]}),
            "invalid_redirect_uri",
            "wildcard",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": "https://app.example/cb"}),
            "invalid_client_metadata",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "logo_uri": "ftp://x.example/l.png"}),
            "invalid_client_metadata",
            "logo_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "client_uri": "not a url"}),
            "invalid_client_metadata",
            "client_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "jwks_uri": "http://keys.example/j"}),
            "invalid_client_metadata",
            "jwks_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "grant_types": ["password"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "response_types": ["token"]}),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_jwt"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "application_type": "desktop"}),
            "invalid_client_metadata",
            "application_type",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "client_name": 42}),
            "invalid_client_metadata",
            "client_name",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "client_credentials",
        ),
        (json!([1, 2]), "invalid_client_metadata", "JSON object"),
    ];
    for (body, error, needle) in cases {
        let (s, got, headers) = register(&app, &body).await;
        assert_eq!(s, 400, "{body} → {got}");
        assert_eq!(got["error"], error, "{body} → {got}");
        let d = got["error_description"].as_str().unwrap_or("");
        assert!(d.contains(needle), "{body}: {needle:?} not in {d:?}");
        assert_eq!(headers["cache-control"], "no-store");
    }
    // Not JSON at all.
    let r = app
        .http
        .post(app.url("/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client_metadata");
    // Nothing was stored.
    let dynamic = app.store.count_clients(ClientKind::Dynamic).await.unwrap();
    assert_eq!(dynamic, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn names_of_trusted_hosts_are_refused_and_lookalikes_flagged() {
    let mut cfg = default_config();
    cfg.cimd.trusted_hosts = vec!["claude.ai".into()];
    let app = TestApp::start_with(cfg, "").await;
    for name in ["claude.ai", "Claude.AI desktop", "claude . ai"] {
        let (s, got, _) = register(
            &app,
            &json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_name": name}),
        )
        .await;
        assert_eq!(s, 400, "{name}: {got}");
        assert_eq!(got["error"], "invalid_client_metadata");
        assert!(
            got["error_description"]
                .as_str()
                .unwrap()
                .starts_with("client_name")
        );
    }
    // "Claude Code" registers (Claude Code does use DCR) but is never
    // verified, and the consent line warns.
    let (s, got, _) = register(
        &app,
        &json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_name": "Claude Code (weather)"}),
    )
    .await;
    assert_eq!(s, 201, "{got}");
    let c = app
        .store
        .get_client(got["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let id = authgate_authority::clients::identity(app.state(), &c);
    assert!(!id.verified);
    assert!(id.name_warning.is_some());
    assert!(
        id.how.contains("does not come from claude.ai"),
        "{}",
        id.how
    );
    app.shutdown().await;
}

#[tokio::test]
async fn configuration_endpoint_reads_updates_deletes_with_its_token() {
    let app = TestApp::start().await;
    let (_, reg, _) = register(&app, &typescript_sdk_body(40001)).await;
    let uri = reg["registration_client_uri"].as_str().unwrap().to_string();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = reg["client_id"].as_str().unwrap().to_string();

    // Missing or wrong token: 401 invalid_token.
    for token in [None, Some("wrong"), Some(SVC_SECRET)] {
        let mut req = app.http.get(&uri);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_token");
    }
    // Another client's URI with this token: 401.
    let (_, other, _) = register(&app, &mcp_remote_body()).await;
    let r = app
        .http
        .get(other["registration_client_uri"].as_str().unwrap())
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A pre-registered client is not managed here.
    let r = app
        .http
        .get(app.url("/register/svc"))
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Read.
    let r = app.http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["client_id"], id.as_str());
    assert_eq!(v["client_name"], "My MCP Client");
    assert!(v.get("registration_access_token").is_none());

    // Update: re-validated, replaces the metadata.
    let mut body = typescript_sdk_body(40001);
    body["client_id"] = json!(id);
    body["client_name"] = json!("Renamed");
    body["logo_uri"] = json!("javascript:alert(1)");
    let r = app
        .http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("logo_uri")
    );
    body.as_object_mut().unwrap().remove("logo_uri");
    body.as_object_mut().unwrap().remove("client_uri");
    let r = app
        .http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["client_name"], "Renamed");
    assert!(
        v.get("client_uri").is_none(),
        "omitted fields are removed: {v}"
    );
    let row = app.store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(row.metadata.client_name.as_deref(), Some("Renamed"));
    assert_eq!(row.kind, ClientKind::Dynamic);
    // The body's client_id must match.
    body["client_id"] = json!("someone-else");
    let r = app
        .http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Delete: 204, then gone (and the token with it).
    let r = app
        .http
        .delete(&uri)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = app
        .http
        .delete(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert!(app.store.get_client(&id).await.unwrap().is_none());
    let r = app.http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    app.shutdown().await;
}

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_flood_from_one_address_gets_429_while_others_register() {
    let mut cfg = default_config();
    cfg.dynamic_registration.rate_limit_per_minute = 6;
    cfg.dynamic_registration.rate_limit_burst = 3;
    let app = TestApp::start_with(cfg, "").await;
    let flooder = client_from(Ipv4Addr::new(127, 0, 0, 1));
    for i in 0..3 {
        let (s, v, _) = register_with(&flooder, &app, &typescript_sdk_body(41000 + i)).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v, headers) = register_with(&flooder, &app, &typescript_sdk_body(41010)).await;
    assert_eq!(s, 429, "{v}");
    assert_eq!(v["error"], "slow_down");
    assert!(v["error_description"].as_str().unwrap().contains("retry"));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");

    // Another address is not affected.
    let other = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let (s, v, _) = register_with(&other, &app, &mcp_remote_body()).await;
    assert_eq!(s, 201, "{v}");
    // The flooder is still limited.
    let (s, _, _) = register_with(&flooder, &app, &mcp_remote_body()).await;
    assert_eq!(s, 429);
    app.shutdown().await;
}

#[tokio::test]
async fn identical_registrations_are_deduplicated() {
    let app = TestApp::start().await;
    let (s, first, _) = register(&app, &typescript_sdk_body(42001)).await;
    assert_eq!(s, 201);
    // Same client reconnecting on another loopback port.
    let (s, second, _) = register(&app, &typescript_sdk_body(42002)).await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(first["client_id"], second["client_id"]);
    assert_eq!(
        second["redirect_uris"],
        json!(["http://localhost:42002/callback"]),
        "the echo is what this registrant sent"
    );
    assert_ne!(
        first["registration_access_token"],
        second["registration_access_token"]
    );
    let id = first["client_id"].as_str().unwrap();
    let row = app.store.get_client(id).await.unwrap().unwrap();
    assert_eq!(row.registration_count, 2);
    assert_eq!(
        app.store.count_clients(ClientKind::Dynamic).await.unwrap(),
        1
    );
    // The first token was replaced by the second.
    let uri = first["registration_client_uri"].as_str().unwrap();
    let r = app
        .http
        .get(uri)
        .bearer_auth(first["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A shared registration cannot be redirected elsewhere by one registrant.
    let rat = second["registration_access_token"].as_str().unwrap();
    let mut body = typescript_sdk_body(42002);
    body["client_id"] = json!(id);
    body["redirect_uris"] = json!(["https://attacker.example/cb"]);
    let r = app
        .http
        .put(uri)
        .bearer_auth(rat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Deleting drops one registration, not everyone's client.
    let r = app.http.delete(uri).bearer_auth(rat).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let row = app.store.get_client(id).await.unwrap().unwrap();
    assert_eq!(row.registration_count, 1);

    // Different software_id or name: a different client.
    let mut other = typescript_sdk_body(42001);
    other["software_id"] = json!("another-app");
    let (_, third, _) = register(&app, &other).await;
    assert_ne!(third["client_id"], first["client_id"]);

    // Confidential registrations are never merged (a rotated secret would
    // lock the other installation out).
    let body = json!({"redirect_uris": ["https://app.example/cb"], "client_name": "Web"});
    let (_, a, _) = register(&app, &body).await;
    let (_, b, _) = register(&app, &body).await;
    assert_ne!(a["client_id"], b["client_id"]);
    assert!(a["client_secret"].is_string() && b["client_secret"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn live_client_cap_answers_503_but_reregistration_still_works() {
    let mut cfg = default_config();
    cfg.dynamic_registration.max_clients = 2;
    let app = TestApp::start_with(cfg, "").await;
    let (s, _, _) = register(&app, &typescript_sdk_body(1)).await;
    assert_eq!(s, 201);
    let (s, _, _) = register(&app, &mcp_remote_body()).await;
    assert_eq!(s, 201);
    let (s, v, _) = register(&app, &python_sdk_body()).await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"], "temporarily_unavailable");
    let (s, v, _) = register(&app, &typescript_sdk_body(2)).await;
    assert_eq!(s, 201, "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn reaping_removes_unused_dynamic_clients_only() {
    let app = TestApp::start().await;
    let (_, unused, _) = register(&app, &typescript_sdk_body(43001)).await;
    let (_, used, _) = register(&app, &mcp_remote_body()).await;
    let now = app.state().clock.now();
    let long_ago = now - 31 * 86400;
    // Both registered long ago; one was used recently.
    for (reg, last_used) in [(&unused, None), (&used, Some(now - 3600))] {
        let mut c = app
            .store
            .get_client(reg["client_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        c.created_at = long_ago;
        c.last_used_at = last_used;
        app.store.update_client(&c).await.unwrap();
    }
    // An old, never-used pre-registered client is not touched.
    let mut svc = app.store.get_client("public").await.unwrap().unwrap();
    svc.created_at = long_ago;
    app.store.update_client(&svc).await.unwrap();

    let n = authgate_authority::registration::reap_unused_clients(app.state())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        app.store
            .get_client(unused["client_id"].as_str().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store
            .get_client(used["client_id"].as_str().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert!(app.store.get_client("public").await.unwrap().is_some());
    app.shutdown().await;
}

#[tokio::test]
async fn initial_access_token_required_when_configured() {
    let mut cfg = default_config();
    cfg.dynamic_registration.initial_access_tokens = vec![
        "team-token-0123456789abcdef".into(),
        format!(
            "sha256:{}",
            authgate_core::secret::hash("hashed-token-0123456789abcdef")
        ),
    ];
    let app = TestApp::start_with(cfg, "").await;
    let (s, v, h) = register(&app, &typescript_sdk_body(1)).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "invalid_token");
    assert!(h.contains_key("www-authenticate"));
    for token in ["wrong", "team-token-0123456789abcdeX"] {
        let r = app
            .http
            .post(app.url("/register"))
            .bearer_auth(token)
            .json(&typescript_sdk_body(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    for token in [
        "team-token-0123456789abcdef",
        "hashed-token-0123456789abcdef",
    ] {
        let r = app
            .http
            .post(app.url("/register"))
            .bearer_auth(token)
            .json(&typescript_sdk_body(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn refused_when_no_resource_allows_dynamic_registration() {
    let mut cfg = default_config();
    cfg.resources[0].allow_dynamic_registration = false;
    let app = TestApp::start_with(cfg.clone(), "").await;
    // Notes still allows it: registration works, but Weather refuses the client.
    let (s, reg, _) = register(&app, &typescript_sdk_body(44001)).await;
    assert_eq!(s, 201);
    let id = reg["client_id"].as_str().unwrap();
    let url = browser::authorize_url(
        &app,
        &[
            ("client_id", id),
            ("redirect_uri", "http://localhost:44001/callback"),
        ],
    );
    let r = app.http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.contains("error=unauthorized_client"), "{loc}");
    app.shutdown().await;

    cfg.resources[1].allow_dynamic_registration = false;
    let app = TestApp::start_with(cfg, "").await;
    let (s, v, _) = register(&app, &typescript_sdk_body(44001)).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "access_denied");
    app.shutdown().await;

    let mut cfg = default_config();
    cfg.dynamic_registration.enabled = false;
    let app = TestApp::start_with(cfg, "").await;
    let (s, _, _) = register(&app, &typescript_sdk_body(44001)).await;
    assert_eq!(s, 403);
    let meta: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meta.get("registration_endpoint").is_none(), "{meta}");
    app.shutdown().await;
}

#[tokio::test]
async fn turning_dynamic_clients_off_stops_their_codes_and_refreshes() {
    let app = TestApp::start().await;
    browser::add_user(&app, "ada@example.com").await;
    let (s, reg, _) = register(&app, &typescript_sdk_body(44002)).await;
    assert_eq!(s, 201, "{reg}");
    let id = reg["client_id"].as_str().unwrap().to_string();
    let redirect = "http://localhost:44002/callback";
    let exchange = |code: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.token_form(
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &id),
                    ("code", &code),
                    ("code_verifier", VERIFIER),
                    ("redirect_uri", redirect),
                    ("resource", WEATHER_URI),
                ],
            )
            .await
        }
    };
    let (s, tok, _) = exchange(authorize_code(&app, &id, redirect, "ada@example.com").await).await;
    assert_eq!(s, 200, "{tok}");
    let refresh = tok["refresh_token"].as_str().unwrap().to_string();
    // A code issued while the switch was on, redeemed after it went off.
    let code = authorize_code(&app, &id, redirect, "ada@example.com").await;

    let refresh_once = {
        let (app, id, refresh) = (&app, id.as_str(), refresh.as_str());
        move || async move {
            app.token_form(
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", id),
                    ("refresh_token", refresh),
                    ("resource", WEATHER_URI),
                ],
            )
            .await
        }
    };
    let weather = app.store.get_resource("weather").await.unwrap().unwrap();
    let set_switch = |on: bool| {
        let mut r = weather.clone();
        r.allow_dynamic_registration = on;
        let app = &app;
        async move {
            app.store.upsert_resource(&r).await.unwrap();
            app.state().registry.invalidate_resources();
        }
    };

    set_switch(false).await;
    let (s, v, _) = refresh_once().await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{v}"
    );
    let (s, v, _) = exchange(code).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{v}"
    );

    // On again: the refresh token (not rotated by the refused attempt) works.
    set_switch(true).await;
    let (s, v, _) = refresh_once().await;
    assert_eq!(s, 200, "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_an_oauth_error() {
    let app = TestApp::start().await;
    let mut body = typescript_sdk_body(1);
    body["padding"] = json!("x".repeat(200 * 1024));
    let (s, v, _) = register(&app, &body).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "invalid_client_metadata");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
    app.shutdown().await;
}
