//! The dashboard with a cookie browser: sign-in round trip, admin-only,
//! CSRF, add an MCP server and see what it must publish, the connection
//! check against local stand-ins, clients, revoking a person's grant,
//! first-run setup.

use super::*;
use crate::browser::{Browser, Page, add_user, authorize_through, exchange, refresh};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the element with `id` (first tag's content, unescaped).
pub(super) fn element(p: &Page, id: &str) -> String {
    let needle = format!("id=\"{id}\"");
    let at = p
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id} in {}", p.body));
    let start = p.body[at..].find('>').unwrap() + at + 1;
    let end = p.body[start..].find("</").unwrap() + start;
    unescape(&p.body[start..end])
}

fn assert_secure(p: &Page) {
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(p.headers["x-frame-options"], "DENY");
    assert_eq!(p.headers["cache-control"], "no-store");
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
}

/// Signs in as a new administrator through the dashboard redirect.
pub(super) async fn admin_browser(app: &TestApp) -> Browser {
    add_admin(app, "grace@example.com").await;
    let b = Browser::new();
    let p = b.get(&app.url("/admin/servers/new")).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location.as_deref(), Some("/login"));
    let back = sign_in(app, &b, "grace@example.com").await;
    assert_eq!(
        back, "/admin/servers/new",
        "back to where the dashboard sent us"
    );
    b
}

/// A stand-in MCP server on loopback: 401 with a challenge, and its
/// metadata at the path-inserted URL. `issuer_in_metadata` is what it
/// publishes as authorization server.
pub(super) async fn stand_in(issuer_in_metadata: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let uri = format!("http://{addr}/mcp");
    let meta_url = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");
    let challenge = format!("Bearer resource_metadata=\"{meta_url}\", scope=\"fc:read\"");
    let meta = json!({
        "resource": uri,
        "authorization_servers": [issuer_in_metadata],
        "scopes_supported": ["fc:read", "fc:write"],
        "bearer_methods_supported": ["header"],
    });
    let app = axum::Router::new()
        .route(
            "/mcp",
            get(|| async {}).post(move |_h: HeaderMap| {
                let c = challenge.clone();
                async move {
                    let mut r = StatusCode::UNAUTHORIZED.into_response();
                    r.headers_mut()
                        .insert("www-authenticate", HeaderValue::from_str(&c).unwrap());
                    r
                }
            }),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(move || {
                let m = meta.clone();
                async move { axum::Json(m) }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    uri
}

pub(super) async fn add_server(app: &TestApp, b: &Browser, name: &str, uri: &str) -> Page {
    let form = b.get(&app.url("/admin/servers/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_secure(&form);
    let csrf = form.hidden("csrf");
    let p = b
        .post(
            &app.url("/admin/servers"),
            &[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("id", ""),
                ("uri", uri),
                ("scope_name", "fc:read"),
                ("scope_description", "Read forecasts"),
                ("scope_implies", ""),
                ("scope_default", "0"),
                ("scope_name", "fc:write"),
                ("scope_description", "Set alerts"),
                ("scope_implies", "fc:read"),
                ("scope_name", ""),
                ("scope_description", ""),
                ("scope_implies", ""),
                ("allow_dynamic_registration", "on"),
                ("allow_client_id_metadata_documents", "on"),
                ("access_token_ttl_secs", "900"),
                ("refresh_token_idle_ttl_secs", "86400"),
                ("refresh_token_absolute_ttl_secs", "604800"),
                ("documentation_uri", ""),
                ("logo_uri", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let detail = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    detail
}

fn abs(app: &TestApp, loc: &str) -> String {
    crate::browser::abs(app, loc)
}

#[tokio::test]
async fn sign_in_round_trip_and_admin_only() {
    let app = TestApp::start_with(admin_config(), "").await;
    // A signed-in person without is_admin gets 403.
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = b.get(&app.url("/admin")).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/login")));
    let back = sign_in(&app, &b, "ada@example.com").await;
    assert_eq!(back, "/admin");
    let p = b.get(&app.url("/admin")).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("Administrators only"));
    assert_secure(&p);
    for path in [
        "/admin/clients",
        "/admin/users",
        "/admin/keys",
        "/admin/audit",
    ] {
        assert_eq!(b.get(&app.url(path)).await.status, 403, "{path}");
    }
    // An admin sees every page, with the security headers.
    let b = admin_browser(&app).await;
    for path in [
        "/admin",
        "/admin/servers/weather",
        "/admin/clients",
        "/admin/users",
        "/admin/keys",
        "/admin/audit",
        "/admin/audit?q=sign_in",
    ] {
        let p = b.get(&app.url(path)).await;
        assert_eq!(p.status, 200, "{path}: {}", p.body);
        assert_secure(&p);
        assert!(p.body.contains("Sign out"), "{path}");
    }
    let p = b.get(&app.url("/admin/servers/nope")).await;
    assert_eq!(p.status, 404);
    // Forms without the session's CSRF token are refused.
    let p = b
        .post(
            &app.url("/admin/servers"),
            &[
                ("csrf", "forged"),
                ("name", "x"),
                ("uri", "https://x.example"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = b.post(&app.url("/admin/keys/rotate"), &[]).await;
    assert_eq!(p.status, 403);
    // A browser with no session posting is sent to sign in.
    let p = Browser::new()
        .post(&app.url("/admin/keys/rotate"), &[("csrf", "x")])
        .await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/login")));
    app.shutdown().await;
}

#[tokio::test]
async fn add_server_see_metadata_and_run_the_connection_check() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    // Validation errors come back on the form, naming the field.
    let form = b.get(&app.url("/admin/servers/new")).await;
    let p = b
        .post(
            &app.url("/admin/servers"),
            &[
                ("csrf", &form.hidden("csrf")),
                ("name", "Broken"),
                ("uri", "http://insecure.example.com/mcp"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("data-field=\"uri\""), "{}", p.body);
    assert!(p.body.contains("value=\"Broken\""), "keeps what was typed");

    // A correctly configured stand-in: every point passes.
    let good = stand_in(app.base.clone()).await;
    let detail = add_server(&app, &b, "Forecasts", &good).await;
    assert_secure(&detail);
    let r = app
        .store
        .list_resources()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Forecasts")
        .expect("created");
    assert_eq!(r.id, "forecasts");
    assert_eq!(r.default_scopes, vec!["fc:read"]);
    assert_eq!(r.scopes[1].implies, vec!["fc:read"]);
    assert_eq!(r.access_token_ttl_secs, 900);
    // The exact metadata JSON to serve, and the challenge.
    let shown: Value = serde_json::from_str(&element(&detail, "metadata-json")).unwrap();
    assert_eq!(
        shown,
        authgate_authority::resource_metadata::metadata(&app.base, &r)
    );
    assert_eq!(shown["resource"], good);
    assert_eq!(
        element(&detail, "www-authenticate"),
        format!(
            "WWW-Authenticate: {}",
            authgate_authority::resource_metadata::www_authenticate(&r)
        )
    );
    assert!(element(&detail, "snippet-rust").contains("ProtectedResource::builder"));
    assert!(element(&detail, "snippet-node").contains("jwtVerify"));
    let check = b
        .post(
            &app.url("/admin/servers/forecasts/check"),
            &[("csrf", &detail.hidden("csrf"))],
        )
        .await;
    assert_eq!(check.status, 200, "{}", check.body);
    assert!(
        check.body.contains("id=\"check-summary\" data-ok=\"true\""),
        "{}",
        check.body
    );
    assert!(!check.body.contains("data-ok=\"false\""), "{}", check.body);
    for point in [
        "reach",
        "unauthorized",
        "challenge",
        "challenge.resource_metadata",
        "metadata",
        "metadata.resource",
        "metadata.authorization_servers",
        "metadata.scopes",
    ] {
        assert!(
            check
                .body
                .contains(&format!("id=\"check-{point}\" data-ok=\"true\"")),
            "{point}: {}",
            check.body
        );
    }

    // A misconfigured one (authorization server with a trailing slash):
    // the failing point is named.
    let bad = stand_in(format!("{}/", app.base)).await;
    add_server(&app, &b, "Misconfigured", &bad).await;
    let detail = b.get(&app.url("/admin/servers/misconfigured")).await;
    let check = b
        .post(
            &app.url("/admin/servers/misconfigured/check"),
            &[("csrf", &detail.hidden("csrf"))],
        )
        .await;
    assert!(
        check
            .body
            .contains("id=\"check-summary\" data-ok=\"false\"")
    );
    assert!(
        check
            .body
            .contains("id=\"check-metadata.authorization_servers\" data-ok=\"false\""),
        "{}",
        check.body
    );
    assert!(
        check
            .body
            .contains("id=\"check-metadata.resource\" data-ok=\"true\"")
    );
    // The API reports the same.
    let token = client_token(&app, "ops", "authgate:admin").await;
    let v: Value = app
        .http
        .post(app.url("/admin/api/v1/resources/misconfigured/check"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], false);
    let failed: Vec<_> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ok"] == false)
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed, vec!["metadata.authorization_servers"]);

    // Nothing listening: the first point fails and the rest say why.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/mcp", l.local_addr().unwrap())
    };
    add_server(&app, &b, "Gone", &closed).await;
    let detail = b.get(&app.url("/admin/servers/gone")).await;
    let check = b
        .post(
            &app.url("/admin/servers/gone/check"),
            &[("csrf", &detail.hidden("csrf"))],
        )
        .await;
    assert!(check.body.contains("id=\"check-reach\" data-ok=\"false\""));

    // Edit, then delete with a confirmation that says what is revoked.
    let edit = b.get(&app.url("/admin/servers/gone/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("value=\"Gone\""));
    let confirm = b.get(&app.url("/admin/servers/gone/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("0 grants revoked"),
        "{}",
        confirm.body
    );
    assert!(
        confirm
            .body
            .contains("Access tokens already issued stay valid")
    );
    let p = b
        .post(
            &app.url("/admin/servers/gone/delete"),
            &[("csrf", &confirm.hidden("csrf"))],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(app.store.get_resource("gone").await.unwrap().is_none());
    let list = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert!(list.body.contains("MCP server deleted"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_check_reaches_loopback_when_the_issuer_is_loopback_never_metadata() {
    let mut cfg = admin_config();
    cfg.admin_connection_check_allow_private = false;
    let app = TestApp::start_with(cfg, "").await;
    let b = admin_browser(&app).await;
    // The issuer is loopback (127.0.0.1): so may its MCP servers be.
    let good = stand_in(app.base.clone()).await;
    add_server(&app, &b, "Local", &good).await;
    let detail = b.get(&app.url("/admin/servers/local")).await;
    let check = b
        .post(
            &app.url("/admin/servers/local/check"),
            &[("csrf", &detail.hidden("csrf"))],
        )
        .await;
    assert!(
        check.body.contains("id=\"check-summary\" data-ok=\"true\""),
        "{}",
        check.body
    );
    // The cloud metadata address stays refused (before any connection).
    add_server(&app, &b, "Metadata", "https://169.254.169.254/mcp").await;
    let detail = b.get(&app.url("/admin/servers/metadata")).await;
    let check = b
        .post(
            &app.url("/admin/servers/metadata/check"),
            &[("csrf", &detail.hidden("csrf"))],
        )
        .await;
    assert!(check.body.contains("id=\"check-reach\" data-ok=\"false\""));
    assert!(check.body.contains("admin_connection_check_allow_private"));
    app.shutdown().await;
}

#[tokio::test]
async fn clients_page_adds_a_client_and_shows_the_secret_once() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let list = b.get(&app.url("/admin/clients")).await;
    assert!(list.body.contains("pre-registered"));
    let p = b
        .post(
            &app.url("/admin/clients"),
            &[
                ("csrf", &list.hidden("csrf")),
                ("client_name", "Reporter"),
                ("client_id", "reporter"),
                ("confidential", "on"),
                ("grant_client_credentials", "on"),
                ("redirect_uris", ""),
                ("resources", "weather"),
                ("scopes", "weather:read"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let secret = element(&p, "new-client-secret");
    assert_eq!(secret.len(), 43);
    let (s, body, _) = app
        .token_form(
            Some(("reporter", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // Not shown again.
    let list = b.get(&app.url("/admin/clients")).await;
    assert!(!list.body.contains(&secret));
    assert!(list.body.contains("data-client-id=\"reporter\""));
    // Rotate shows a new one; block; delete (with confirmation).
    let p = b
        .post(
            &app.url("/admin/clients/secret"),
            &[("csrf", &list.hidden("csrf")), ("client_id", "reporter")],
        )
        .await;
    let rotated = element(&p, "new-client-secret");
    assert_ne!(rotated, secret);
    let p = b
        .post(
            &app.url("/admin/clients/block"),
            &[("csrf", &list.hidden("csrf")), ("client_id", "reporter")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(
        app.store
            .get_client("reporter")
            .await
            .unwrap()
            .unwrap()
            .blocked
    );
    let confirm = b
        .get(&app.url("/admin/clients/delete?client_id=reporter"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete client reporter?"));
    let p = b
        .post(
            &app.url("/admin/clients/delete"),
            &[("csrf", &confirm.hidden("csrf")), ("client_id", "reporter")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(app.store.get_client("reporter").await.unwrap().is_none());
    // A validation error names the field.
    let p = b
        .post(
            &app.url("/admin/clients"),
            &[
                ("csrf", &list.hidden("csrf")),
                ("grant_authorization_code", "on"),
                ("redirect_uris", "not a url"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("data-field=\"redirect_uris\""));
    app.shutdown().await;
}

#[tokio::test]
async fn users_page_revokes_a_grant_and_makes_password_links() {
    let app = TestApp::start_with(admin_config(), "").await;
    let ada = add_user(&app, "ada@example.com").await;
    let person = Browser::new();
    let p = authorize_through(&app, &person, "ada@example.com", &[]).await;
    let (s, tokens) = exchange(&app, &p.query()["code"], crate::browser::VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    let b = admin_browser(&app).await;
    let users = b.get(&app.url("/admin/users")).await;
    assert!(users.body.contains("ada@example.com"));
    let page = b.get(&app.url(&format!("/admin/users/{}", ada.id))).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("data-client-id=\"public\" data-resource-id=\"weather\"")
    );
    let p = b
        .post(
            &app.url(&format!("/admin/users/{}/revoke", ada.id)),
            &[
                ("csrf", &page.hidden("csrf")),
                ("client_id", "public"),
                ("resource_id", "weather"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let page = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert!(page.body.contains("Access revoked"));
    assert!(page.body.contains("id=\"no-apps\""));
    let (s, _) = refresh(&app, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(s, 400, "the revoked grant's refresh token is dead");
    // A password link.
    let p = b
        .post(
            &app.url(&format!("/admin/users/{}/password-link", ada.id)),
            &[("csrf", &page.hidden("csrf"))],
        )
        .await;
    assert_eq!(p.status, 200);
    let link = element(&p, "password-link");
    assert!(link.starts_with(&app.url("/password/reset?token=")));
    // Add a person: they get a link, no password.
    let p = b
        .post(
            &app.url("/admin/users"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("email", "bob@example.com"),
                ("name", "Bob"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(element(&p, "password-link").contains("/password/reset?token="));
    let bob = app
        .store
        .get_user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.role, Role::User);
    // Disable then enable.
    let p = b
        .post(
            &app.url(&format!("/admin/users/{}/disable", bob.id)),
            &[("csrf", &page.hidden("csrf"))],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(app.store.get_user(&bob.id).await.unwrap().unwrap().disabled);
    app.shutdown().await;
}

#[tokio::test]
async fn keys_page_rotates() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    let page = b.get(&app.url("/admin/keys")).await;
    // The access-token key and the RS256 and EdDSA ID-token keys.
    assert_eq!(page.body.matches("data-state=").count(), 3);
    let p = b
        .post(
            &app.url("/admin/keys/rotate"),
            &[("csrf", &page.hidden("csrf"))],
        )
        .await;
    assert_eq!(p.status, 303);
    let page = b.get(&app.url("/admin/keys?notice=rotated")).await;
    assert!(page.body.contains("data-state=\"retired\""));
    assert!(page.body.contains("data-state=\"active\""));
    app.shutdown().await;
}

#[tokio::test]
async fn first_run_setup_link_creates_the_first_admin_once() {
    let app = TestApp::start_with(admin_config(), "/t").await;
    let link = authgate_authority::setup_links::announce(app.state())
        .await
        .expect("no admin yet: a link");
    assert!(link.starts_with(&app.url("/admin/setup?token=")), "{link}");
    // The link is in a file only its owner reads, removed once used.
    let file = app.state().settings.raw.data_dir.join("setup-link");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), link);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let b = Browser::new();
    // A wrong token does not work.
    assert_eq!(
        b.get(&app.url("/admin/setup?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
            .await
            .status,
        404
    );
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_secure(&page);
    let form = |pw2: &'static str| {
        vec![
            ("csrf".to_string(), page.hidden("csrf")),
            ("token".to_string(), page.hidden("token")),
            ("email".to_string(), "Root@Example.com".to_string()),
            ("name".to_string(), "Root".to_string()),
            ("password".to_string(), "a long admin password".to_string()),
            ("password2".to_string(), pw2.to_string()),
        ]
    };
    let as_refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let f = as_refs(&form("different"));
    let f: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let p = b.post(&app.url("/admin/setup"), &f).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("The two passwords differ"));
    let f = form("a long admin password");
    let f: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let p = b.post(&app.url("/admin/setup"), &f).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/t/admin")),
        "{}",
        p.body
    );
    // Signed in as the new administrator.
    let dash = b.get(&app.url("/admin")).await;
    assert_eq!(dash.status, 200, "{}", dash.body);
    assert!(dash.body.contains("root@example.com"));
    let u = app
        .store
        .get_user_by_email("root@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.role, Role::Admin);
    assert!(!file.exists(), "the setup link file outlived the setup");
    // Single use; and no new link once an admin exists.
    assert_eq!(Browser::new().get(&link).await.status, 404);
    assert!(
        authgate_authority::setup_links::announce(app.state())
            .await
            .is_none()
    );
    audit_event(&app, "admin.setup", |e| {
        e["event"] == "admin.setup.completed"
    })
    .await;
    app.shutdown().await;
}

/// With `[mfa] required`, the first administrator made by the setup link
/// is not signed in until they set up a second factor.
#[tokio::test]
async fn the_setup_link_keeps_the_mfa_requirement() {
    let mut cfg = admin_config();
    cfg.mfa.required = true;
    let app = TestApp::start_with(cfg, "").await;
    let link = authgate_authority::setup_links::announce(app.state())
        .await
        .expect("no admin yet: a link");
    let b = Browser::new();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let p = b
        .post(
            &app.url("/admin/setup"),
            &[
                ("csrf", page.hidden("csrf").as_str()),
                ("token", page.hidden("token").as_str()),
                ("email", "root@example.com"),
                ("name", "Root"),
                ("password", "a long admin password"),
                ("password2", "a long admin password"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.clone().unwrap();
    assert!(
        to.contains("/login/mfa"),
        "sent to set up a second factor: {to}"
    );
    // Not signed in meanwhile: no dashboard.
    let dash = b.get(&app.url("/admin")).await;
    assert_ne!(dash.status, 200, "{}", dash.body);
    let to = if to.starts_with("http") {
        to
    } else {
        app.url(&to)
    };
    let step = b.get(&to).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("id=\"mfa-enrol\""), "{}", step.body);
    app.shutdown().await;
}

/// Sensitive dashboard actions ask for the password again when the
/// session's sign-in is older than `admin_reauthenticate_after_secs`, carry
/// the form through, and go on once it is given; a wrong password does
/// nothing.
#[tokio::test]
async fn sensitive_actions_ask_for_the_password_again_on_an_old_session() {
    let app = TestApp::start_with(admin_config(), "").await;
    add_admin(&app, "grace@example.com").await;
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", "grace@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    // Age the session's sign-in by an hour.
    let raw = p
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next()?.split_once('=').map(|x| x.1.to_owned()))
        .expect("a session cookie");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let hash = authgate_core::secret::hash(&raw);
    let mut s = app.store.get_session(&hash, now).await.unwrap().unwrap();
    s.auth_time = Some(now - 3600);
    app.store.update_session(&s).await.unwrap();

    let keys = || async { app.store.list_signing_keys().await.unwrap().len() };
    let before = keys().await;
    let csrf = b.get(&app.url("/admin/keys")).await.hidden("csrf");
    let rotate = |extra: Option<&'static str>| {
        let mut form = vec![("csrf", csrf.clone())];
        if let Some(pw) = extra {
            form.push(("reauth_password", pw.to_string()));
        }
        let b = &b;
        let url = app.url("/admin/keys/rotate");
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(&url, &form).await
        }
    };
    let p = rotate(None).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("Confirm it is you") && p.body.contains("name=\"reauth_password\""),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("action=\"/admin/keys/rotate\""),
        "{}",
        p.body
    );
    assert_eq!(keys().await, before, "nothing rotated yet");
    let p = rotate(Some("wrong password")).await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("The password is not correct."));
    assert_eq!(keys().await, before, "a wrong password rotates nothing");
    let p = rotate(Some(PASSWORD)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location.unwrap().contains("notice=rotated"));
    // A rotation replaces every signing key (one per algorithm).
    assert_eq!(keys().await, before * 2);
    // The sign-in is fresh again: the next sensitive action just happens.
    let p = rotate(None).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(keys().await, before * 3);
    // A form's own fields are carried through the password page: a client
    // secret made after re-authenticating is for the client named.
    s = app.store.get_session(&hash, now).await.unwrap().unwrap();
    s.auth_time = Some(now - 3600);
    app.store.update_session(&s).await.unwrap();
    let p = b
        .post(
            &app.url("/admin/clients/secret"),
            &[("csrf", &csrf), ("client_id", "svc")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("name=\"client_id\" value=\"svc\""),
        "{}",
        p.body
    );
    let p = b
        .post(
            &app.url("/admin/clients/secret"),
            &[
                ("csrf", &csrf),
                ("client_id", "svc"),
                ("reauth_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("New secret for svc"), "{}", p.body);
    app.shutdown().await;
}
