use crate::browser::*;
use crate::support::*;
use serde_json::Value;

async fn introspect_active(app: &TestApp, token: &str) -> bool {
    let v: Value = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"] == true
}

#[tokio::test]
async fn full_flow_sign_in_consent_code_token_refresh() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    // Not signed in: to the sign-in page.
    let p = b
        .get(&authorize_url(
            &app,
            &[("scope", "openid email weather:read"), ("nonce", "n-1")],
        ))
        .await;
    assert_eq!(p.status, 303);
    let loc = p.location.clone().unwrap();
    assert!(loc.contains("/login?r="), "{loc}");
    let login = b.get(&abs(&app, &loc)).await;
    assert_eq!(login.status, 200);
    // Email first (issue 19): the email, then the password step.
    assert!(login.body.contains("<label for=\"email\">Email</label>"));
    assert!(login.body.contains(">Continue</button>"));
    let step2 = b
        .post(
            &app.url("/login/email"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ada@example.com"),
            ],
        )
        .await;
    assert_eq!(step2.status, 200, "{}", step2.body);
    assert!(
        step2
            .body
            .contains("<label for=\"password\">Password</label>")
    );
    assert!(step2.body.contains(">Sign in</button>"));
    assert!(step2.body.contains("Public"), "shows the client name");
    assert!(login.body.contains("Public"), "shows the client name");
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert!(
        login.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(login.headers["cache-control"], "no-store");
    assert_eq!(login.headers["pragma"], "no-cache");
    let cookie = login
        .headers
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    // (The cookie may have been set on /authorize already.)
    let _ = cookie;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ADA@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let set_cookie = p.headers["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let consent_loc = p.location.clone().unwrap();
    assert!(consent_loc.contains("/consent?r="));
    let consent = b.get(&abs(&app, &consent_loc)).await;
    assert_eq!(consent.status, 200);
    for needle in [
        "Public",
        "Weather",
        WEATHER_URI,
        "127.0.0.1:51234",
        "weather:read description",
        ">Allow</button>",
        ">Deny</button>",
        "administrator",
    ] {
        assert!(
            consent.body.contains(needle),
            "consent page lacks {needle}: {}",
            consent.body
        );
    }
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
    assert_eq!(p.status, 303);
    assert!(p.location.as_ref().unwrap().starts_with(REDIRECT));
    let q = p.query();
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.base);
    let code = q["code"].clone();

    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["scope"], "openid email weather:read");
    let at = tok["access_token"].as_str().unwrap();
    let claims = decode_segment(at, 1);
    assert_eq!(claims["aud"], WEATHER_URI);
    assert_eq!(claims["scope"], "weather:read");
    assert_eq!(claims["client_id"], "public");
    let id = decode_segment(tok["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["aud"], "public");
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(
        id["at_hash"],
        authgate_core::signing::at_hash(authgate_core::model::SigningAlg::RS256, at)
    );
    // userinfo: personal data, never cached.
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let ui: Value = r.json().await.unwrap();
    assert_eq!(ui["email"], "ada@example.com");
    assert_eq!(ui["sub"], claims["sub"]);

    // Refresh rotates; narrowing is fine, widening is not.
    let rt1 = tok["refresh_token"].as_str().unwrap().to_string();
    let (s, r2) = refresh(&app, &rt1, Some("weather:write")).await;
    assert_eq!((s, r2["error"].as_str()), (400, Some("invalid_scope")));
    let (s, r2) = refresh(&app, &rt1, Some("weather:read")).await;
    assert_eq!(s, 200, "{r2}");
    let rt2 = r2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(
        decode_segment(r2["access_token"].as_str().unwrap(), 1)["aud"],
        WEATHER_URI
    );
    // Within the grace window the old token returns the same successor.
    let (s, again) = refresh(&app, &rt1, None).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["refresh_token"], rt2.as_str());
    // Resource changes on refresh are refused.
    let (s, b2, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "public"),
                ("refresh_token", &rt2),
                ("resource", NOTES_URI),
            ],
        )
        .await;
    assert_eq!((s, b2["error"].as_str()), (400, Some("invalid_target")));
    app.shutdown().await;
}

#[tokio::test]
async fn pkce_is_mandatory_and_checked() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    // plain or missing challenge: redirected error with iss and state.
    for extra in [
        vec![("code_challenge_method", "plain")],
        vec![("code_challenge", "")],
        vec![("code_challenge_method", "")],
    ] {
        let p = b.get(&authorize_url(&app, &extra)).await;
        assert_eq!(p.status, 303, "{extra:?}");
        let q = p.query();
        assert_eq!(q["error"], "invalid_request", "{extra:?}");
        assert_eq!(q["iss"], app.base);
        assert_eq!(q["state"], "st-123");
    }
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let (s, body) = exchange(&app, &code, &"x".repeat(43)).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    // The code was consumed by the failed attempt: a retry is a replay.
    let (s, _) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 400);
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "public"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "missing verifier"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn code_replay_revokes_tokens_issued_from_it() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200);
    let at = tok["access_token"].as_str().unwrap().to_string();
    let rt = tok["refresh_token"].as_str().unwrap().to_string();
    assert!(introspect_active(&app, &at).await);
    let (s, body) = exchange(&app, &code, VERIFIER).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(
        !introspect_active(&app, &at).await,
        "access token from a replayed code is revoked"
    );
    let (s, body) = refresh(&app, &rt, None).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    app.shutdown().await;
}

#[tokio::test]
async fn redirect_uri_mismatch_shows_a_page_and_never_redirects() {
    let app = TestApp::start().await;
    let b = Browser::new();
    for bad in [
        "https://evil.example.com/callback",
        "http://127.0.0.1:51234/other",
        "http://localhost.evil.com/callback",
        "not a uri",
    ] {
        let p = b.get(&authorize_url(&app, &[("redirect_uri", bad)])).await;
        assert_eq!(p.status, 400, "{bad}");
        assert!(p.location.is_none(), "{bad}");
        assert!(p.body.contains("redirect_uri"), "{bad}: {}", p.body);
    }
    // Unknown client: page, or JSON invalid_client when asked for JSON.
    let p = b
        .get(&authorize_url(&app, &[("client_id", "nobody")]))
        .await;
    assert_eq!(p.status, 400);
    assert!(p.location.is_none());
    let r = b
        .http
        .get(authorize_url(&app, &[("client_id", "nobody")]))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    app.shutdown().await;
}

#[tokio::test]
async fn loopback_redirects_accept_any_port() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    for port in ["1024", "65000"] {
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let p = b
            .get(&authorize_url(&app, &[("redirect_uri", &redirect)]))
            .await;
        assert_eq!(p.status, 303, "{redirect}");
        assert!(p.location.unwrap().contains("/login?r="));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn deny_returns_access_denied_and_prompt_none_needs_login() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = b.get(&authorize_url(&app, &[("prompt", "none")])).await;
    let q = p.query();
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], app.base);
    let p = b.get(&authorize_url(&app, &[])).await;
    let login = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let consent = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    let p = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "deny"),
            ],
        )
        .await;
    let q = p.query();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.base);
    // The pending request was single-use.
    let again = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(again.status, 400);
    // Signed in, no consent yet: prompt=none gives consent_required.
    let p = b.get(&authorize_url(&app, &[("prompt", "none")])).await;
    assert_eq!(p.query()["error"], "consent_required");
    app.shutdown().await;
}

#[tokio::test]
async fn consent_is_remembered_and_asked_again_for_new_scopes() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    authorize_through(&app, &b, "ada@example.com", &[]).await;
    // Same scopes: straight back with a code.
    let p = b.get(&authorize_url(&app, &[])).await;
    assert!(
        p.location.as_ref().unwrap().starts_with(REDIRECT),
        "{:?}",
        p.location
    );
    assert!(p.query().contains_key("code"));
    // More scopes: the consent page shows only the new one as new.
    let p = b
        .get(&authorize_url(
            &app,
            &[("scope", "weather:read weather:write")],
        ))
        .await;
    let loc = p.location.unwrap();
    assert!(loc.contains("/consent?r="), "{loc}");
    let consent = b.get(&abs(&app, &loc)).await;
    let new_part = consent.body.split("Already allowed").next().unwrap();
    assert!(new_part.contains("weather:write"));
    assert!(!new_part.contains("<code class=\"scope-name\">weather:read</code>"));
    assert!(consent.body.contains("Already allowed"));
    // prompt=consent always asks.
    let p = b.get(&authorize_url(&app, &[("prompt", "consent")])).await;
    assert!(p.location.unwrap().contains("/consent?r="));
    // prompt=login always signs in again.
    let p = b.get(&authorize_url(&app, &[("prompt", "login")])).await;
    assert!(p.location.unwrap().contains("/login?r="));
    app.shutdown().await;
}

/// Follows /authorize to the sign-in page in `b` and signs in; returns the
/// answer to the sign-in form and the pending request's id.
async fn sign_in_fresh(
    app: &TestApp,
    b: &Browser,
    email: &str,
    extra: &[(&str, &str)],
) -> (Page, String) {
    let p = b.get(&authorize_url(app, extra)).await;
    let loc = p.location.clone().unwrap();
    assert!(loc.contains("/login?r="), "{loc}");
    let login = b.get(&abs(app, &loc)).await;
    assert_eq!(login.status, 200);
    let rid = login.hidden("r");
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &rid),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    (p, rid)
}

#[tokio::test]
async fn remembered_consent_skips_the_page_after_a_fresh_sign_in() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let first = authorize_through(&app, &Browser::new(), "ada@example.com", &[]).await;
    assert!(first.query().contains_key("code"));

    // A new browser (empty cookie jar) signs in: straight back with a code.
    let b = Browser::new();
    let (p, rid) = sign_in_fresh(&app, &b, "ada@example.com", &[]).await;
    let set_cookie = p.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let loc = p.location.clone().unwrap();
    assert!(loc.starts_with(REDIRECT), "no consent page expected: {loc}");
    let q = p.query();
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.base);
    let (s, tok) = exchange(&app, &q["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["scope"], "weather:read");
    // The pending request was used up.
    let page = b.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(page.status, 400, "{}", page.body);
    // And the browser is signed in.
    let p = b.get(&authorize_url(&app, &[])).await;
    assert!(p.location.unwrap().starts_with(REDIRECT));

    // prompt=consent still shows the page after a fresh sign-in.
    let b = Browser::new();
    let (p, _) = sign_in_fresh(&app, &b, "ada@example.com", &[("prompt", "consent")]).await;
    let loc = p.location.unwrap();
    assert!(loc.contains("/consent?r="), "{loc}");
    let consent = b.get(&abs(&app, &loc)).await;
    assert_eq!(consent.status, 200);
    assert!(consent.body.contains(">Allow</button>"));
    app.shutdown().await;
}

#[tokio::test]
async fn fresh_sign_in_asks_consent_only_for_new_scopes() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    authorize_through(&app, &Browser::new(), "ada@example.com", &[]).await;

    let b = Browser::new();
    let (p, _) = sign_in_fresh(
        &app,
        &b,
        "ada@example.com",
        &[("scope", "weather:read weather:write")],
    )
    .await;
    let loc = p.location.unwrap();
    assert!(loc.contains("/consent?r="), "{loc}");
    let consent = b.get(&abs(&app, &loc)).await;
    assert_eq!(consent.status, 200);
    let (new_part, granted_part) = consent
        .body
        .split_once("Already allowed")
        .expect("the already allowed scope is listed");
    assert!(new_part.contains("<code class=\"scope-name\">weather:write</code>"));
    assert!(!new_part.contains("<code class=\"scope-name\">weather:read</code>"));
    assert!(granted_part.contains("<code class=\"scope-name\">weather:read</code>"));
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
    let (s, tok) = exchange(&app, &p.query()["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["scope"], "weather:read weather:write");

    // Now both are remembered: another fresh sign-in skips the page.
    let b = Browser::new();
    let (p, _) = sign_in_fresh(
        &app,
        &b,
        "ada@example.com",
        &[("scope", "weather:read weather:write")],
    )
    .await;
    assert!(p.location.unwrap().starts_with(REDIRECT));
    app.shutdown().await;
}

#[tokio::test]
async fn refresh_reuse_after_grace_revokes_the_family_and_parallel_refreshes_agree() {
    let mut cfg = default_config();
    cfg.refresh_grace_secs = 1;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let (_, tok) = exchange(&app, &p.query()["code"], VERIFIER).await;
    let rt1 = tok["refresh_token"].as_str().unwrap().to_string();
    // Two parallel refreshes with the same token: both succeed, same successor.
    let (a, bb) = tokio::join!(refresh(&app, &rt1, None), refresh(&app, &rt1, None));
    assert_eq!((a.0, bb.0), (200, 200), "{} {}", a.1, bb.1);
    assert_eq!(a.1["refresh_token"], bb.1["refresh_token"]);
    let rt2 = a.1["refresh_token"].as_str().unwrap().to_string();
    let at2 = a.1["access_token"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Replay after the window: refused and the whole grant is revoked.
    let (s, body) = refresh(&app, &rt1, None).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = refresh(&app, &rt2, None).await;
    assert_eq!(s, 400, "the successor died with the family");
    assert!(!introspect_active(&app, &at2).await);
    app.shutdown().await;
}

/// A refresh reads whether the grant's person is still active (the joined
/// read's standing), not only whether the grant was revoked: while the
/// account is disabled the token is refused without being rotated or
/// revoked, and it works again once the account is enabled.
#[tokio::test]
async fn a_refresh_is_refused_while_the_person_is_disabled() {
    let app = TestApp::start().await;
    let mut ada = add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let (_, tok) = exchange(&app, &p.query()["code"], VERIFIER).await;
    let rt = tok["refresh_token"].as_str().unwrap().to_string();
    // Disabled in the store alone (the admin paths also revoke the grants).
    ada.disabled = true;
    app.store.update_user(&ada).await.unwrap();
    let (s, e) = refresh(&app, &rt, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("not active"),
        "{e}"
    );
    ada.disabled = false;
    app.store.update_user(&ada).await.unwrap();
    let (s, t) = refresh(&app, &rt, None).await;
    assert_eq!(s, 200, "the refused token was not rotated or revoked: {t}");
    app.shutdown().await;
}

#[tokio::test]
async fn csrf_is_enforced_on_every_form() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = b.get(&authorize_url(&app, &[])).await;
    let login = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    for csrf in ["", "wrong"] {
        let p = b
            .post(
                &app.url("/login"),
                &[
                    ("csrf", csrf),
                    ("r", &login.hidden("r")),
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(p.status, 403, "login csrf {csrf:?}");
    }
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let consent = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    let p = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", "nope"),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = b
        .post(
            &app.url("/account/revoke"),
            &[("client_id", "public"), ("resource_id", "weather")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = b.post(&app.url("/logout"), &[("csrf", "nope")]).await;
    assert_eq!(p.status, 403);
    // A different browser (no session) cannot post the consent form.
    let other = Browser::new();
    let p = other
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    app.shutdown().await;
}

#[tokio::test]
async fn failed_sign_ins_are_generic_throttled_and_the_lock_expires() {
    let mut cfg = default_config();
    cfg.login_max_failures_per_account = 3;
    cfg.login_lockout_secs = 2;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = b.get(&authorize_url(&app, &[])).await;
    let login = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    let (csrf, r) = (login.hidden("csrf"), login.hidden("r"));
    let attempt = |email: &'static str, pw: &'static str| {
        let (csrf, r) = (csrf.clone(), r.clone());
        let b = &b;
        let app = &app;
        async move {
            b.post(
                &app.url("/login"),
                &[
                    ("csrf", &csrf),
                    ("r", &r),
                    ("email", email),
                    ("password", pw),
                ],
            )
            .await
        }
    };
    let unknown = attempt("nobody@example.com", "whatever-password").await;
    let wrong = attempt("ada@example.com", "wrong-password").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.status, 401);
    assert!(
        unknown
            .body
            .contains("The email or password is not correct.")
    );
    assert!(wrong.body.contains("The email or password is not correct."));
    attempt("ada@example.com", "wrong-password").await;
    attempt("ada@example.com", "wrong-password").await;
    // Locked: even the right password is refused for now.
    let locked = attempt("ada@example.com", PASSWORD).await;
    assert_eq!(locked.status, 401);
    assert!(
        locked.body.contains("Too many failed attempts"),
        "{}",
        locked.body
    );
    // Unknown accounts lock the same way (no enumeration).
    for _ in 0..3 {
        attempt("nobody@example.com", "whatever-password").await;
    }
    assert!(
        attempt("nobody@example.com", "x")
            .await
            .body
            .contains("Too many failed attempts")
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ok = attempt("ada@example.com", PASSWORD).await;
    assert_eq!(ok.status, 303, "the lock expired: {}", ok.body);
    app.shutdown().await;
}

#[tokio::test]
async fn connected_apps_revoke_kills_refresh_tokens() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let (_, tok) = exchange(&app, &p.query()["code"], VERIFIER).await;
    let rt = tok["refresh_token"].as_str().unwrap().to_string();
    let at = tok["access_token"].as_str().unwrap().to_string();
    let page = b.get(&app.url("/account")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Public")
            && page.body.contains("Weather")
            && page.body.contains(">Revoke</button>"),
        "{}",
        page.body
    );
    let p = b
        .post(
            &app.url("/account/revoke"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("client_id", "public"),
                ("resource_id", "weather"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let page = b.get(&abs(&app, p.location.as_ref().unwrap())).await;
    assert!(page.body.contains("Access revoked.") && !page.body.contains(">Revoke</button>"));
    let (s, body) = refresh(&app, &rt, None).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(!introspect_active(&app, &at).await);
    // And the next authorization asks for consent again.
    let p = b.get(&authorize_url(&app, &[])).await;
    assert!(p.location.unwrap().contains("/consent?r="));
    // Sign out.
    let page = b.get(&app.url("/account")).await;
    let p = b
        .post(&app.url("/logout"), &[("csrf", &page.hidden("csrf"))])
        .await;
    assert_eq!(p.status, 303);
    let p = b.get(&app.url("/account")).await;
    assert!(p.location.unwrap().ends_with("/login"));
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_authorize_requests_never_5xx() {
    let app = TestApp::start().await;
    let b = Browser::new();
    let long = "x".repeat(5000);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("client_id", "")],
        vec![("response_type", "token")],
        vec![("response_type", "")],
        vec![("resource", "https://unknown.example.com/")],
        vec![("resource", "not a url")],
        vec![("resource", "https://a.example/#frag")],
        vec![("scope", "bad\\scope")],
        vec![("scope", "unknown:scope")],
        vec![("prompt", "bogus")],
        vec![("max_age", "abc")],
        vec![("state", &long)],
        vec![("nonce", &long)],
        vec![("request_uri", "urn:x")],
        vec![("response_mode", "fragment")],
        vec![("code_challenge", "short")],
    ];
    for extra in cases {
        let p = b.get(&authorize_url(&app, &extra)).await;
        assert!(p.status < 500, "{extra:?}: {}", p.status);
        assert!(
            p.status == 303 || p.status == 400,
            "{extra:?}: {}",
            p.status
        );
    }
    // Raw garbage in the query string.
    for q in [
        "%ff%fe=1",
        "client_id=public&client_id=x",
        "client_id=%00",
        "&&&=",
        "client_id=public&redirect_uri=%zz",
    ] {
        let p = b.get(&format!("{}?{q}", app.url("/authorize"))).await;
        assert!(p.status < 500, "{q}: {}", p.status);
    }
    // Form posts with garbage.
    for body in ["", "email=&password=", "csrf=x&r=y&decision=maybe", "%zz"] {
        for path in ["/login", "/consent", "/account/revoke", "/logout"] {
            let r = b
                .http
                .post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(r.status().as_u16() < 500, "{path} {body}: {}", r.status());
        }
    }
    app.shutdown().await;
}

/// An MCP server's logo is shown on the consent page, and only that page's
/// CSP lets the browser load it; a logo that is not https (or loopback
/// http) is refused where it is set.
#[tokio::test]
async fn the_consent_page_shows_the_mcp_servers_logo() {
    let mut cfg = default_config();
    cfg.resources[0].logo_uri = Some("https://cdn.example.com/weather.png".into());
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let (p, _) = sign_in_fresh(&app, &b, "ada@example.com", &[]).await;
    let loc = p.location.unwrap();
    assert!(loc.contains("/consent?r="), "{loc}");
    let consent = b.get(&abs(&app, &loc)).await;
    assert!(
        consent
            .body
            .contains("src=\"https://cdn.example.com/weather.png\""),
        "{}",
        consent.body
    );
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' https://cdn.example.com"),
        "{csp}"
    );
    let login = b.get(&app.url("/login")).await;
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("cdn.example.com"), "{csp}");
    app.shutdown().await;

    for bad in [
        "javascript:alert(1)",
        "http://cdn.example.com/x.png",
        "https://user:pw@cdn.example.com/x.png",
        "data:image/png;base64,AAAA",
    ] {
        let mut r = default_config().resources[0].clone();
        r.logo_uri = Some(bad.into());
        let e = authgate_authority::declared::validate_resource_config(&r).unwrap_err();
        assert_eq!(e.0, "logo_uri", "{bad}");
    }
    let mut r = default_config().resources[0].clone();
    r.logo_uri = Some("http://127.0.0.1:9000/logo.svg".into());
    authgate_authority::declared::validate_resource_config(&r).expect("loopback http is fine");
}
