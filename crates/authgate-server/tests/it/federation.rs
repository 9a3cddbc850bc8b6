//! Upstream OpenID Connect sign-in against a REAL identity provider: node
//! `oidc-provider` (a certified OP, `e2e/upstream-oidc/server.mjs`) runs as
//! a child process on a loopback port; the cookie-keeping test browser
//! signs in on its own pages. Covers the whole path (email-first routing,
//! PKCE, state, nonce, code exchange, ID token, userinfo, linking,
//! organization, consent, a token with `idp`, `org_id` and `amr`) and the
//! attacks: a replayed callback (state spent), a wrong `iss` (RFC 9207
//! mix-up), another browser's callback, `access_denied`, and an upstream
//! that does not answer.

use crate::browser::*;
use crate::support::*;
use authgate_authority::federation::manage::{self as conns, ConnectionInput};
use authgate_authority::manage::Actor;
use authgate_authority::orgs::manage::{self as orgs, OrgInput};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

const SECRET: &str = "upstream-client-secret-0123456789";

fn actor() -> Actor {
    Actor {
        name: "ops@example.com".into(),
        address: None,
        user_id: None,
    }
}

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// The real oidc-provider, killed when dropped.
struct Upstream {
    issuer: String,
    _child: tokio::process::Child,
}

/// Installs e2e's node modules (oidc-provider) on first use.
async fn ensure_node_modules() {
    let dir = e2e_dir();
    if dir.join("node_modules/oidc-provider/package.json").exists() {
        return;
    }
    let out = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .await
        .expect("npm (node) is needed for the upstream OIDC tests");
    assert!(
        out.status.success(),
        "npm ci: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Upstream {
    /// One client `authgate` with `redirect_uri`, and accounts by login.
    async fn start(redirect_uri: &str, accounts: serde_json::Value) -> Self {
        let client = serde_json::json!({
            "client_id": "authgate",
            "client_secret": SECRET,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic",
        });
        Self::start_with(client, None, accounts).await
    }

    /// oidc-provider with one `client` (its metadata), on `port` if given.
    async fn start_with(
        client: serde_json::Value,
        port: Option<u16>,
        accounts: serde_json::Value,
    ) -> Self {
        ensure_node_modules().await;
        let cfg = serde_json::json!({
            "clients": [client],
            "accounts": accounts,
            "port": port,
        });
        let mut child = tokio::process::Command::new("node")
            .arg(e2e_dir().join("upstream-oidc/server.mjs"))
            .env("UPSTREAM_OIDC", cfg.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node is needed for the upstream OIDC tests");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("oidc-provider did not start in 30 s")
            .unwrap()
            .expect("oidc-provider printed nothing");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        Self {
            issuer: v["issuer"].as_str().unwrap().to_owned(),
            _child: child,
        }
    }
}

fn ann() -> serde_json::Value {
    serde_json::json!({
        "ann": {"email": "ann@acme.example", "email_verified": true, "name": "Ann Upstream",
                "groups": ["eng"]},
        "eve": {"email": "eve@acme.example", "email_verified": false, "name": "Eve"},
    })
}

/// authgate with connection `up` (trusted for acme.example) to a fresh
/// oidc-provider, and organization `acme` (domain acme.example, verified)
/// routed to it.
async fn setup() -> (TestApp, Upstream) {
    let app = TestApp::start().await;
    let up = Upstream::start(&app.url("/federation/up/callback"), ann()).await;
    let c = conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "up".into(),
            preset: Some("okta".into()),
            display_name: Some("Acme SSO".into()),
            issuer: Some(up.issuer.clone()),
            client_id: "authgate".into(),
            client_secret: Some(SECRET.into()),
            scopes: vec![
                "openid".into(),
                "email".into(),
                "profile".into(),
                "groups".into(),
            ],
            token_endpoint_auth_method: None,
            client_key_alg: None,
            rotate_key: false,
            trusted_email_domains: vec!["acme.example".into()],
            show_on_login: true,
            saml: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(c.redirect_uri, app.url("/federation/up/callback"));
    assert!(c.has_secret);
    // Sealed at rest: the stored bytes do not contain the secret.
    let stored = app.store.get_connection("up").await.unwrap().unwrap();
    let sealed = stored.secret_sealed.unwrap();
    assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    orgs::create_org(
        app.state(),
        &actor(),
        OrgInput {
            id: "acme".into(),
            name: "Acme".into(),
            connection_ids: vec!["up".into()],
            forbid_local_passwords: false,
            require_mfa: false,
        },
    )
    .await
    .unwrap();
    orgs::add_domain(app.state(), &actor(), "acme", "acme.example")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "acme", "acme.example")
        .await
        .unwrap();
    (app, up)
}

fn join(base: &str, loc: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

/// From /authorize through the email step to authgate's redirect to the
/// upstream; returns that upstream authorization URL.
async fn to_upstream(app: &TestApp, b: &Browser, email: &str) -> String {
    let p = b.get(&authorize_url(app, &[])).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("Acme SSO"),
        "social button: {}",
        login.body
    );
    let p = b
        .post(
            &app.url("/login/email"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", email),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let start = p.location.unwrap();
    assert!(start.starts_with("/federation/up/start?r="), "{start}");
    let p = b.get(&abs(app, &start)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    p.location.unwrap()
}

/// Signs in at oidc-provider's own pages as `login` and consents there;
/// returns the callback URL it sends the browser to.
async fn upstream_sign_in(b: &Browser, auth_url: &str, login: &str) -> String {
    let mut url = auth_url.to_owned();
    for _ in 0..8 {
        let p = b.get(&url).await;
        let Some(loc) = p.location.clone() else {
            panic!("{url}: {} {}", p.status, p.body);
        };
        let next = join(&url, &loc);
        if next.contains("/federation/") {
            return next;
        }
        if next.contains("/interaction/") {
            let page = b.get(&next).await;
            let form: Vec<(&str, &str)> = if page.body.contains("value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let p = b.post(&next, &form).await;
            url = join(
                &next,
                p.location.as_deref().expect("a redirect after the form"),
            );
        } else {
            url = next;
        }
    }
    panic!("no callback after 8 steps from {auth_url}");
}

async fn audited(app: &TestApp, event: &str, outcome: &str) -> bool {
    for _ in 0..100 {
        let events = app
            .store
            .list_audit_events(Some(event), None, 50)
            .await
            .unwrap();
        if events.iter().any(|e| e.outcome == outcome) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn upstream_oidc_sign_in_ends_in_a_token_with_idp_org_and_amr() {
    let (app, up) = setup().await;
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let u = url::Url::parse(&auth).unwrap();
    assert!(auth.starts_with(&format!("{}/auth?", up.issuer)), "{auth}");
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["login_hint"], "ann@acme.example");
    assert_eq!(q["redirect_uri"], app.url("/federation/up/callback"));
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);

    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let cq: std::collections::HashMap<_, _> = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(cq["iss"], up.issuer, "oidc-provider sends iss (RFC 9207)");
    let p = b.get(&callback).await;
    assert_eq!(p.status, 303, "{}", p.body);
    // On to consent at authgate, then back to the client.
    let consent = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    // The consent page says which account: the provider and organization.
    assert!(
        consent.body.contains("id=\"consent-idp\">Acme SSO<"),
        "{}",
        consent.body
    );
    assert!(
        consent.body.contains("id=\"consent-org\">Acme<"),
        "{}",
        consent.body
    );
    let p = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let code = p.query()["code"].clone();
    let (status, tokens) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["idp"], "up", "{claims}");
    assert_eq!(claims["org_id"], "acme", "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["fed"]), "{claims}");

    // Just-in-time: a person was made from the verified email (which the
    // ID token lacked: it came from userinfo), linked by (connection, sub).
    let user = app
        .store
        .get_user_by_email("ann@acme.example")
        .await
        .unwrap()
        .expect("created just in time");
    assert_eq!(user.name.as_deref(), Some("Ann Upstream"));
    let link = app
        .store
        .get_user_identity("up", "ann")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id, user.id);
    assert_eq!(link.claims.groups, vec!["eng"]);
    assert!(audited(&app, "federation.sign_in.succeeded", "ok").await);
    // Connected apps say through which provider and organization.
    let account = b.get(&app.url("/account")).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(
        account
            .body
            .contains("Signed in through Acme SSO · Organization Acme"),
        "{}",
        account.body
    );

    // The same callback again (a replay): the state is spent.
    let again = b.get(&callback).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert!(audited(&app, "federation.sign_in.failed", "bad_state").await);
    app.shutdown().await;
}

#[tokio::test]
async fn callbacks_with_a_wrong_iss_another_browser_or_a_denial_sign_nobody_in() {
    let (app, _up) = setup().await;

    // RFC 9207 mix-up: the response names another issuer.
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "iss" {
                (k, "https://evil.example".into())
            } else {
                (k, v)
            }
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let p = b.get(u.as_str()).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(p.body.contains("could not be accepted"), "{}", p.body);
    assert!(audited(&app, "federation.sign_in.failed", "iss_mismatch").await);
    // And without iss at all (the upstream advertises it).
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "iss")
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(b.get(u.as_str()).await.status, 502);

    // A callback carried to another browser (login CSRF): not its state.
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let other = Browser::new();
    let p = other.get(&callback).await;
    assert_eq!(p.status, 400, "{}", p.body);
    // The rightful browser still finishes (nothing was spent by the other).
    let p = b.get(&callback).await;
    assert_eq!(p.status, 303, "{}", p.body);

    // An error response is checked for its iss too (RFC 9207).
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let first = b.get(&auth).await;
    let interaction = join(&auth, first.location.as_deref().unwrap());
    let p = b.get(&format!("{interaction}/abort")).await;
    let back = join(&interaction, p.location.as_deref().unwrap());
    let callback = upstream_sign_in(&b, &back, "ann").await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "iss" {
                (k, "https://evil.example".into())
            } else {
                (k, v)
            }
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let p = b.get(u.as_str()).await;
    assert_eq!(p.status, 502, "an error from another issuer: {}", p.body);

    // access_denied at the upstream: a page, audited.
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let first = b.get(&auth).await;
    let interaction = join(&auth, first.location.as_deref().unwrap());
    let p = b.get(&format!("{interaction}/abort")).await;
    let back = join(&interaction, p.location.as_deref().unwrap());
    let callback = upstream_sign_in(&b, &back, "ann").await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let p = b.get(&callback).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("cancelled or refused"), "{}", p.body);
    assert!(audited(&app, "federation.sign_in.failed", "access_denied").await);

    // An unverified upstream email makes no account.
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "eve@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "eve").await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        app.store
            .get_user_by_email("eve@acme.example")
            .await
            .unwrap()
            .is_none()
    );

    // Garbage callbacks are pages, never a 500.
    for q in ["", "?state=x", "?code=x&state=%FF", "?error=%00"] {
        let p = Browser::new()
            .get(&app.url(&format!("/federation/up/callback{q}")))
            .await;
        assert_eq!(p.status, 400, "{q}: {}", p.body);
    }
    let p = Browser::new()
        .get(&app.url("/federation/nope/start?r=x"))
        .await;
    assert_eq!(p.status, 404);
    let p = Browser::new()
        .get(&app.url("/federation/UP..%2F/start"))
        .await;
    assert!(p.status == 404, "{}", p.status);
    app.shutdown().await;
}

/// Pre-account squatting: someone signed up with Ann's address (never
/// verified) and a password of their choosing. When Ann signs in through
/// the upstream trusted for her domain, she gets the account without being
/// asked for that password; the squatter's password, name and sessions
/// are gone (found in review).
#[tokio::test]
async fn an_unverified_self_made_account_goes_to_the_address_owner() {
    let (app, _up) = setup().await;
    let mut squat = add_user(&app, "ann@acme.example").await;
    squat.signed_up = true;
    squat.name = Some("Call +1 555 0100 now".into());
    app.store.update_user(&squat).await.unwrap();
    // The squatter is signed in somewhere (held: no codes, but a session).
    let sq = Browser::new();
    let p = sq
        .post(
            &app.url("/login"),
            &[
                ("csrf", &sq.get(&app.url("/login")).await.hidden("csrf")),
                ("r", ""),
                ("email", "ann@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(sq.get(&app.url("/account")).await.status, 200);

    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, 303, "no password asked: {}", p.body);
    let link = app
        .store
        .get_user_identity("up", "ann")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id, squat.id);
    let u = app.store.get_user(&squat.id).await.unwrap().unwrap();
    assert!(u.email_verified);
    assert_eq!(u.name.as_deref(), Some("Ann Upstream"));
    assert!(!authgate_authority::federation::link::has_password(&u));
    // The squatter's session ended, and their password signs nobody in.
    assert_eq!(sq.get(&app.url("/account")).await.status, 303);
    let again = Browser::new();
    let p = again
        .post(
            &app.url("/login"),
            &[
                ("csrf", &again.get(&app.url("/login")).await.hidden("csrf")),
                ("r", ""),
                ("email", "ann@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_ne!(p.status, 303, "{}", p.body);
    assert!(audited(&app, "federation.link.unverified_account_claimed", "ok").await);
    app.shutdown().await;
}

#[tokio::test]
async fn an_existing_password_account_links_only_after_its_password() {
    let (app, _up) = setup().await;
    let local = add_user(&app, "ann@acme.example").await;
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("action=\"/federation/link\""), "{}", p.body);
    assert!(
        app.store
            .get_user_identity("up", "ann")
            .await
            .unwrap()
            .is_none()
    );
    let csrf = p.hidden("csrf");
    let wrong = b
        .post(
            &app.url("/federation/link"),
            &[("csrf", &csrf), ("password", "wrong")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        app.store
            .get_user_identity("up", "ann")
            .await
            .unwrap()
            .is_none()
    );
    let ok = b
        .post(
            &app.url("/federation/link"),
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let link = app
        .store
        .get_user_identity("up", "ann")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id, local.id);
    app.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_does_not_answer_is_a_page() {
    let app = TestApp::start().await;
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "dead".into(),
            issuer: Some(dead),
            client_id: "authgate".into(),
            client_secret: Some(SECRET.into()),
            display_name: Some("Dead".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let p = Browser::new()
        .get(&app.url("/federation/dead/start?r="))
        .await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(p.body.contains("could not be reached"), "{}", p.body);
    assert!(audited(&app, "federation.sign_in.failed", "upstream_unreachable").await);
    // A disabled connection is not offered and does not start.
    conns::set_connection_disabled(app.state(), &actor(), "dead", true)
        .await
        .unwrap();
    let p = Browser::new()
        .get(&app.url("/federation/dead/start?r="))
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
    app.shutdown().await;
}

/// GitHub has no local equivalent: a small server answers with GitHub's
/// recorded response shapes (OAuth 2 authorize and token, `GET /user`,
/// `GET /user/emails`) and checks what authgate sends it.
async fn recorded_github() -> String {
    use axum::extract::Query;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{get, post};
    use std::collections::HashMap;
    let bearer_ok = |h: &HeaderMap| {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer gho_recorded")
    };
    let app = axum::Router::new()
        .route(
            "/login/oauth/authorize",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q["code_challenge_method"], "S256");
                assert!(!q.contains_key("nonce"), "GitHub is not OpenID Connect");
                Redirect::to(&format!(
                    "{}?code=gh-code&state={}",
                    q["redirect_uri"], q["state"]
                ))
            }),
        )
        .route(
            "/login/oauth/access_token",
            post(|h: HeaderMap, body: String| async move {
                let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let basic = h
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if form.get("code").map(String::as_str) != Some("gh-code")
                    || !form.contains_key("code_verifier")
                    || !basic.starts_with("Basic ")
                {
                    // GitHub's way: 200 with an error member.
                    return axum::Json(serde_json::json!({"error": "bad_verification_code"}));
                }
                axum::Json(serde_json::json!({
                    "access_token": "gho_recorded", "token_type": "bearer",
                    "scope": "read:user,user:email"
                }))
            }),
        )
        .route(
            "/user",
            get(move |h: HeaderMap| async move {
                if !bearer_ok(&h) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(serde_json::json!({"id": 4242, "login": "octo", "name": "Octo Cat"}))
                    .into_response()
            }),
        )
        .route(
            "/user/emails",
            get(move |h: HeaderMap| async move {
                if !bearer_ok(&h) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(serde_json::json!([
                    {"email": "octo@unverified.example", "primary": false, "verified": false},
                    {"email": "Octo@Example.org", "primary": true, "verified": true},
                ]))
                .into_response()
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    base
}

#[tokio::test]
async fn github_signs_in_with_the_verified_primary_email() {
    let app = TestApp::start().await;
    let gh = recorded_github().await;
    let mut c = authgate_core::connection::Connection {
        id: "gh".into(),
        kind: authgate_core::connection::ConnectionKind::Github,
        display_name: "GitHub".into(),
        preset: Some("github".into()),
        config: serde_json::json!({
            "client_id": "gh-client",
            "authorization_endpoint": format!("{gh}/login/oauth/authorize"),
            "token_endpoint": format!("{gh}/login/oauth/access_token"),
            "api_base": gh,
        }),
        secret_sealed: None,
        trusted_email_domains: vec![],
        show_on_login: true,
        disabled: false,
        created_at: 0,
    };
    c.secret_sealed = Some(
        authgate_authority::federation::oidc::seal_secrets(
            app.state(),
            "gh",
            &authgate_authority::federation::oidc::ConnectionSecrets {
                client_secret: Some(SECRET.into()),
                private_key: None,
            },
        )
        .unwrap(),
    );
    app.store.insert_connection(&c).await.unwrap();

    // The social button is on the first step.
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    assert!(
        login.body.contains("/federation/gh/start"),
        "{}",
        login.body
    );

    let p = b.get(&app.url("/federation/gh/start?r=")).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let at_github = b.get(p.location.as_deref().unwrap()).await;
    let callback = at_github
        .location
        .clone()
        .expect("GitHub sends the browser back");
    let p = b.get(&callback).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/account"));
    let user = app
        .store
        .get_user_by_email("octo@example.org")
        .await
        .unwrap()
        .expect("made from the verified primary address");
    assert_eq!(user.name.as_deref(), Some("Octo Cat"));
    let link = app
        .store
        .get_user_identity("gh", "4242")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id, user.id);
    app.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_stalls_is_a_timeout_page() {
    let app = TestApp::start().await;
    // Accepts connections and never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalled = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "slow".into(),
            issuer: Some(stalled),
            client_id: "authgate".into(),
            client_secret: Some(SECRET.into()),
            display_name: Some("Slow".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let p = Browser::new()
        .get(&app.url("/federation/slow/start?r="))
        .await;
    assert_eq!(p.status, 504, "{}", p.body);
    assert!(p.body.contains("did not answer in time"), "{}", p.body);
    assert!(audited(&app, "federation.sign_in.failed", "upstream_timeout").await);
    app.shutdown().await;
}

#[test]
fn the_connection_cli_seals_the_secret_and_explains_mistakes() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "issuer = \"http://127.0.0.1:4444\"\ndatabase_url = \"sqlite://{d}/a.db\"\n\
             data_dir = \"{d}/data\"\nkey_encryption_key_file = \"{d}/kek\"\n\
             [[resources]]\nid = \"w\"\nname = \"W\"\nuri = \"https://w.example/mcp\"\n\
             scopes = [{{name = \"r\", description = \"r\"}}]\n"
        ),
    )
    .unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_authgate"));
        cmd.arg("--config").arg(&cfg).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("AUTHGATE_") {
                cmd.env_remove(k);
            }
        }
        let o = cmd.output().unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let s = secret.to_str().unwrap();
    let (ok, out) = run(&[
        "connection",
        "add",
        "c1",
        "--preset",
        "okta",
        "--client-id",
        "x",
        "--client-secret-file",
        s,
    ]);
    assert!(!ok && out.contains("needs the issuer URL"), "{out}");
    let (ok, out) = run(&[
        "connection",
        "add",
        "c1",
        "--upstream-issuer",
        "http://idp.example",
        "--client-id",
        "x",
        "--client-secret-file",
        s,
    ]);
    assert!(!ok && out.contains("https"), "{out}");
    let (ok, out) = run(&[
        "connection",
        "add",
        "c1",
        "--preset",
        "google",
        "--client-id",
        "x",
        "--client-secret-file",
        "/nonexistent/secret",
    ]);
    assert!(!ok && out.contains("/nonexistent/secret"), "{out}");
    let (ok, out) = run(&[
        "connection",
        "add",
        "Bad Id",
        "--preset",
        "google",
        "--client-id",
        "x",
        "--client-secret-file",
        s,
    ]);
    assert!(!ok && out.contains("lower-case"), "{out}");

    let (ok, out) = run(&[
        "connection",
        "add",
        "c1",
        "--preset",
        "google",
        "--client-id",
        "x",
        "--client-secret-file",
        s,
        "--show-on-login",
        "--trusted-domain",
        "Example.COM",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("http://127.0.0.1:4444/federation/c1/callback"),
        "{out}"
    );
    let (ok, out) = run(&["connection", "show", "c1", "--json"]);
    assert!(ok, "{out}");
    assert!(!out.contains(SECRET), "the secret is never printed: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["issuer"], "https://accounts.google.com");
    assert_eq!(v["has_secret"], true);
    assert_eq!(
        v["trusted_email_domains"],
        serde_json::json!(["example.com"])
    );
    let db = std::fs::read(dir.path().join("a.db")).unwrap();
    assert!(
        !db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "sealed at rest"
    );
    let (ok, out) = run(&["connection", "disable", "c1"]);
    assert!(ok, "{out}");
    let (_, out) = run(&["connection", "show", "c1"]);
    assert!(out.contains("disabled"), "{out}");
    let (ok, out) = run(&["connection", "remove", "c1"]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["connection", "show", "c1"]);
    assert!(!ok && out.contains("no connection"), "{out}");
}

/// The query of a callback URL as a [`Callback`].
fn callback_of(url: &str) -> authgate_authority::federation::oidc::Callback {
    let q: std::collections::HashMap<String, String> = url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    authgate_authority::federation::oidc::Callback {
        code: q.get("code").cloned(),
        state: q.get("state").cloned(),
        iss: q.get("iss").cloned(),
        error: q.get("error").cloned(),
    }
}

#[tokio::test]
async fn a_nonce_signs_in_once_even_in_a_fresh_flow() {
    use authgate_authority::federation::oidc::{self, UpstreamError};
    let (app, _up) = setup().await;
    let conn = app.store.get_connection("up").await.unwrap().unwrap();
    let redirect = app.url("/federation/up/callback");
    let b = Browser::new();

    let first = oidc::begin(app.state(), &conn, &redirect, "", None)
        .await
        .unwrap();
    let cb = callback_of(&upstream_sign_in(&b, &first.url, "ann").await);
    let id = oidc::finish(app.state(), &conn, &redirect, &first.flow, &cb)
        .await
        .unwrap();
    assert_eq!(id.subject, "ann");
    assert_eq!(id.email.as_deref(), Some("ann@acme.example"));

    // A second flow that carries the first one's nonce (as a replayed or
    // injected ID token would): the upstream signs it, authgate refuses.
    let mut second = oidc::begin(app.state(), &conn, &redirect, "", None)
        .await
        .unwrap();
    let mut u = url::Url::parse(&second.url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, first.flow.nonce.clone())
            } else {
                (k, v)
            }
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    second.flow.nonce = first.flow.nonce.clone();
    let cb2 = callback_of(&upstream_sign_in(&b, u.as_str(), "ann").await);
    // With another flow's state: refused before anything is spent.
    let e = oidc::finish(app.state(), &conn, &redirect, &first.flow, &cb2)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::BadState), "{e:?}");
    let e = oidc::finish(app.state(), &conn, &redirect, &second.flow, &cb2)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::NonceReplayed), "{e:?}");
    // The same answer twice: the state is spent.
    let e = oidc::finish(app.state(), &conn, &redirect, &second.flow, &cb2)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::BadState), "{e:?}");
    app.shutdown().await;
}

/// The MFA policy holds for upstream sign-ins: when the organization
/// requires a second factor and the upstream did not say it used one, the
/// person enrols one at authgate before consent, and the pending sign-in
/// reaches no consent page.
#[tokio::test]
async fn an_organization_requiring_mfa_holds_upstream_sign_ins_too() {
    let (app, _up) = setup().await;
    orgs::update_org(
        app.state(),
        &actor(),
        "acme",
        OrgInput {
            id: "acme".into(),
            name: "Acme".into(),
            connection_ids: vec!["up".into()],
            forbid_local_passwords: false,
            require_mfa: true,
        },
    )
    .await
    .unwrap();
    let b = Browser::new();
    let auth = to_upstream(&app, &b, "ann@acme.example").await;
    let callback = upstream_sign_in(&b, &auth, "ann").await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.clone().unwrap();
    assert!(
        to.contains("/login/mfa"),
        "to the second step, not consent: {to}"
    );
    // Going straight to consent with the pending sign-in gets nothing.
    let consent = b.get(&app.url("/consent")).await;
    assert_ne!(consent.status, 200, "{}", consent.body);
    let account = b.get(&app.url("/account")).await;
    assert_eq!(account.status, 303, "{}", account.body);
    assert!(
        account.location.as_deref().unwrap_or("").contains("/login"),
        "{:?}",
        account.location
    );
    app.shutdown().await;
}

/// A deactivated organization's members sign in through no upstream, even
/// by going to its start URL directly (the email step would have stopped
/// them), and no account is made for them.
#[tokio::test]
async fn a_deactivated_organization_signs_nobody_in_upstream() {
    let (app, _up) = setup().await;
    orgs::set_org_disabled(app.state(), &actor(), "acme", true)
        .await
        .unwrap();
    let b = Browser::new();
    let p = b.get(&authorize_url(&app, &[])).await;
    let login = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let rid = login.hidden("r");
    let p = b
        .get(&app.url(&format!("/federation/up/start?r={rid}")))
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let callback = upstream_sign_in(&b, p.location.as_deref().unwrap(), "ann").await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        app.store
            .get_user_by_email("ann@acme.example")
            .await
            .unwrap()
            .is_none(),
        "no account made for a deactivated organization's member"
    );
    assert!(audited(&app, "federation.sign_in.failed", "organization").await);
    app.shutdown().await;
}

/// `private_key_jwt` toward the upstream: authgate signs the token request
/// with the connection's own key; the real oidc-provider checks it against
/// the public key authgate publishes at `/federation/{id}/jwks.json`. A
/// rotated key the provider does not know is refused there, so the
/// assertion is really what authenticates.
#[tokio::test]
async fn private_key_jwt_authenticates_authgate_to_the_upstream() {
    let app = TestApp::start().await;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let c = conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "up".into(),
            display_name: Some("Acme SSO".into()),
            issuer: Some(format!("http://127.0.0.1:{port}")),
            client_id: "authgate".into(),
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            client_key_alg: Some("ES256".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let jwks_uri = c.jwks_uri.clone().expect("a key set to register");
    assert_eq!(jwks_uri, app.url("/federation/up/jwks.json"));
    let set: serde_json::Value = reqwest::get(&jwks_uri).await.unwrap().json().await.unwrap();
    let key = &set["keys"][0];
    assert_eq!(key["kty"], "EC", "{set}");
    assert!(key.get("d").is_none(), "only the public half: {set}");
    // A client secret does not go with private_key_jwt.
    let e = conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "both".into(),
            display_name: Some("Both".into()),
            issuer: Some(format!("http://127.0.0.1:{port}")),
            client_id: "authgate".into(),
            client_secret: Some(SECRET.into()),
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.field(), Some("client_secret"), "{e:?}");
    // No key set for a connection without private_key_jwt.
    assert_eq!(
        reqwest::get(app.url("/federation/nope/jwks.json"))
            .await
            .unwrap()
            .status(),
        404
    );

    let client = serde_json::json!({
        "client_id": "authgate",
        "redirect_uris": [app.url("/federation/up/callback")],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks": set,
    });
    let _up = Upstream::start_with(client, Some(port), ann()).await;
    let sign_in = || async {
        let b = Browser::new();
        let p = b.get(&app.url("/federation/up/start?r=")).await;
        assert_eq!(p.status, 303, "{}", p.body);
        let callback = upstream_sign_in(&b, p.location.as_deref().unwrap(), "ann").await;
        b.get(&callback).await
    };
    let done = sign_in().await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        app.store
            .get_user_identity("up", "ann")
            .await
            .unwrap()
            .is_some(),
        "signed in through the upstream"
    );

    // authgate rotates its key; the provider still holds the old public
    // key, so it refuses the new assertions.
    let cur = conns::show_connection(app.state(), "up").await.unwrap();
    let v = conns::update_connection(
        app.state(),
        &actor(),
        "up",
        ConnectionInput {
            display_name: Some(cur.display_name.clone()),
            issuer: Some(format!("http://127.0.0.1:{port}")),
            client_id: "authgate".into(),
            rotate_key: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        v.jwks_uri.as_deref(),
        Some(jwks_uri.as_str()),
        "still private_key_jwt"
    );
    let rotated: serde_json::Value = reqwest::get(&jwks_uri).await.unwrap().json().await.unwrap();
    assert_ne!(
        rotated["keys"][0]["kid"], key["kid"],
        "a new key is published"
    );
    let refused = sign_in().await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(audited(&app, "federation.sign_in.failed", "token_refused").await);
    app.shutdown().await;
}

/// A second authgate as the upstream identity provider: authgate's own
/// OpenID Connect side (discovery, PKCE, RFC 9207 `iss`, ID token,
/// userinfo) meets its federation side. The upstream runs as
/// `http://localhost:…` and the downstream as `http://127.0.0.1:…`, so
/// each keeps its own session cookie in the one test browser. The person
/// signs in at the upstream with the email-first step and a password,
/// allows the downstream there, and comes back signed in downstream with
/// a link to their upstream `sub`.
#[tokio::test]
async fn a_second_authgate_is_an_upstream_identity_provider() {
    let down = TestApp::start().await;
    let mut cfg = default_config();
    cfg.clients.push(authgate_authority::config::ClientConfig {
        client_id: "downstream".into(),
        client_name: Some("Downstream authgate".into()),
        client_secret: Some(SECRET.into()),
        client_secret_file: None,
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        redirect_uris: vec![down.url("/federation/ag/callback")],
        grant_types: vec!["authorization_code".into()],
        resources: vec!["weather".into()],
        scopes: None,
    });
    let up = TestApp::start_on_host(cfg, "localhost").await;
    assert!(up.base.starts_with("http://localhost:"), "{}", up.base);
    let mut ann = add_user(&up, "ann@acme.example").await;
    ann.email_verified = true;
    up.store.update_user(&ann).await.unwrap();
    conns::create_connection(
        down.state(),
        &actor(),
        ConnectionInput {
            id: "ag".into(),
            display_name: Some("Acme authgate".into()),
            issuer: Some(up.base.clone()),
            client_id: "downstream".into(),
            client_secret: Some(SECRET.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let b = Browser::new();
    let p = b.get(&down.url("/federation/ag/start?r=")).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let auth = p.location.unwrap();
    assert!(auth.starts_with(&up.url("/authorize?")), "{auth}");
    // The upstream's own pages: email first, then the password.
    let p = b.get(&auth).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = b.get(&join(&auth, p.location.as_deref().unwrap())).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let rid = login.hidden("r");
    let step = b
        .post(
            &up.url("/login/email"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &rid),
                ("email", "ann@acme.example"),
            ],
        )
        .await;
    assert_eq!(step.status, 200, "{}", step.body);
    let p = b
        .post(
            &up.url("/login"),
            &[
                ("csrf", &step.hidden("csrf")),
                ("r", &rid),
                ("email", "ann@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let next = join(&up.base, p.location.as_deref().unwrap());
    // The upstream asks Ann to allow the downstream authgate.
    let callback = if next.contains("/consent") {
        let consent = b.get(&next).await;
        assert_eq!(consent.status, 200, "{}", consent.body);
        assert!(
            consent.body.contains("Downstream authgate"),
            "{}",
            consent.body
        );
        let p = b
            .post(
                &up.url("/consent"),
                &[
                    ("csrf", &consent.hidden("csrf")),
                    ("r", &consent.hidden("r")),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        p.location.unwrap()
    } else {
        next
    };
    assert!(
        callback.starts_with(&down.url("/federation/ag/callback?")),
        "{callback}"
    );
    let cq: std::collections::HashMap<_, _> = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(cq["iss"], up.base, "authgate sends iss (RFC 9207)");
    let done = b.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.as_deref().unwrap().ends_with("/account"));
    // Linked by the upstream's subject (Ann's id there), made just in time
    // with the verified email the upstream's ID token or userinfo gave.
    let link = down
        .store
        .get_user_identity("ag", &ann.id)
        .await
        .unwrap()
        .expect("linked by (connection, upstream sub)");
    let user = down.store.get_user(&link.user_id).await.unwrap().unwrap();
    assert_eq!(user.email, "ann@acme.example");
    let account = b.get(&down.url("/account")).await;
    assert_eq!(
        account.status, 200,
        "signed in downstream: {}",
        account.body
    );
    // The same callback again: refused (state spent).
    let again = b.get(&callback).await;
    assert_ne!(again.status, 303, "{}", again.body);
    up.shutdown().await;
    down.shutdown().await;
}
