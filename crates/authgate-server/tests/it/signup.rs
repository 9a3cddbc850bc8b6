//! Self sign-up and invitations (issue 21 part 4), through the pages as a
//! browser uses them, with mail delivered to a real SMTP server (aiosmtpd,
//! see `mail`).

use crate::browser::*;
use crate::mail::{Sink, smtp};
use crate::support::*;
use authgate_authority::config::Config;
use authgate_core::model::{SignupPolicy, User};
use std::time::Duration;

const NEW_PASSWORD: &str = "a fresh sign-up passphrase";

fn signup_config(port: u16) -> Config {
    let mut cfg = default_config();
    cfg.smtp = Some(smtp(port));
    cfg.signup.enabled = true;
    cfg
}

/// Starts an authorization request in `b`; the request id it waits under.
async fn start_request(app: &TestApp, b: &Browser, extra: &[(&str, &str)]) -> String {
    let p = b.get(&authorize_url(app, extra)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let loc = p.location.unwrap();
    assert!(loc.contains("/login?r="), "{loc}");
    loc.rsplit("r=").next().unwrap().to_owned()
}

/// Fills the sign-up form for request `rid`; the answer.
async fn sign_up(b: &Browser, app: &TestApp, rid: &str, email: &str, name: &str) -> Page {
    let form = b.get(&app.url(&format!("/signup?r={rid}"))).await;
    assert_eq!(form.status, 200, "{}", form.body);
    b.post(
        &app.url("/signup"),
        &[
            ("csrf", &form.hidden("csrf")),
            ("r", rid),
            ("email", email),
            ("name", name),
            ("password", NEW_PASSWORD),
        ],
    )
    .await
}

/// Signs in on the password step for request `rid`.
async fn password_step(b: &Browser, app: &TestApp, rid: &str, email: &str, pw: &str) -> Page {
    let page = b.get(&app.url(&format!("/login?r={rid}"))).await;
    b.post(
        &app.url("/login"),
        &[
            ("csrf", &page.hidden("csrf")),
            ("r", rid),
            ("email", email),
            ("password", pw),
        ],
    )
    .await
}

async fn allow(b: &Browser, app: &TestApp, rid: &str) -> Page {
    let page = b.get(&app.url(&format!("/consent?r={rid}"))).await;
    b.post(
        &app.url("/consent"),
        &[
            ("csrf", &page.hidden("csrf")),
            ("r", rid),
            ("decision", "allow"),
        ],
    )
    .await
}

async fn accept(b: &Browser, app: &TestApp, csrf: &str, token: &str) -> Page {
    b.post(
        &app.url("/invitation"),
        &[
            ("csrf", csrf),
            ("token", token),
            ("password", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ],
    )
    .await
}

async fn user(app: &TestApp, email: &str) -> Option<User> {
    app.store.get_user_by_email(email).await.unwrap()
}

/// Waits for the account `email` a sign-up creates after its answer.
async fn created(app: &TestApp, email: &str) -> User {
    for _ in 0..100 {
        if let Some(u) = user(app, email).await {
            return u;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no account {email}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_is_off_by_default() {
    let app = TestApp::start().await;
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let login = b.get(&app.url(&format!("/login?r={rid}"))).await;
    assert!(!login.body.contains("id=\"signup-link\""), "{}", login.body);
    let page = b.get(&app.url(&format!("/signup?r={rid}"))).await;
    assert_eq!(page.status, 404, "{}", page.body);
    let done = b
        .post(
            &app.url("/signup"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &rid),
                ("email", "new@example.com"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 404, "{}", done.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(user(&app, "new@example.com").await.is_none());
    app.shutdown().await;
}

#[test]
fn sign_up_needs_smtp_and_domains_must_be_names() {
    let mut cfg = default_config();
    cfg.signup.enabled = true;
    let e = authgate_authority::config::validate(cfg).unwrap_err();
    assert_eq!(e.key, "signup.enabled", "{e:?}");
    assert!(e.reason.contains("[smtp]"), "{e:?}");

    let mut cfg = default_config();
    cfg.resources[0].signup = SignupPolicy::Open;
    let e = authgate_authority::config::validate(cfg).unwrap_err();
    assert_eq!(e.key, "resources[0].signup", "{e:?}");

    let mut cfg = signup_config(25);
    cfg.signup.allowed_email_domains = vec!["Example.COM".into()];
    let e = authgate_authority::config::validate(cfg).unwrap_err();
    assert_eq!(e.key, "signup.allowed_email_domains[0]", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_person_signs_up_verifies_then_allows_the_app() {
    let sink = Sink::start();
    let app = TestApp::start_with(signup_config(sink.port), "").await;
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let login = b.get(&app.url(&format!("/login?r={rid}"))).await;
    assert!(login.body.contains("id=\"signup-link\""), "{}", login.body);

    let done = sign_up(&b, &app, &rid, "Nora@Example.com", "Nora Example").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"signup-sent\""), "{}", done.body);
    let mail = sink.one("Confirm your email address").await;
    assert_eq!(mail.rcpt_tos, vec!["nora@example.com"]);
    // The name typed on the form is not the owner's word yet: the mail
    // to the address neither greets by it nor puts it in To.
    assert!(!mail.to.contains("Nora Example"), "{}", mail.to);
    assert!(!mail.text.contains("Nora Example"), "{}", mail.text);
    assert!(mail.text.contains("nora@example.com"), "{}", mail.text);
    let link = mail.link("/email/verify?token=");
    let nora = created(&app, "nora@example.com").await;
    assert!(nora.signed_up && !nora.email_verified, "{nora:?}");

    // She can sign in, but nothing is granted before she verifies.
    let signed_in = password_step(&b, &app, &rid, "nora@example.com", NEW_PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(
        signed_in
            .location
            .as_deref()
            .unwrap()
            .contains("/consent?r="),
        "{:?}",
        signed_in.location
    );
    let held = b.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(held.status, 403, "{}", held.body);
    assert!(held.body.contains("id=\"verify-needed\""), "{}", held.body);
    assert!(held.body.contains("nora@example.com"));
    let refused = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &held.hidden("csrf")),
                ("r", &rid),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "no code: {}", refused.body);
    assert!(
        app.store
            .get_consent(&nora.id, "public", "weather")
            .await
            .unwrap()
            .is_none(),
        "no consent recorded"
    );

    // "Send the link again" mails a second link.
    let resent = b
        .post(
            &app.url("/signup/resend"),
            &[("csrf", &held.hidden("csrf")), ("r", &rid)],
        )
        .await;
    assert_eq!(resent.status, 403, "{}", resent.body);
    assert!(
        resent.body.contains("id=\"verify-resent\""),
        "{}",
        resent.body
    );
    sink.wait_for(2).await;

    // She opens the first link (in another browser: a mail app) ...
    let other = Browser::new();
    let confirm = other.get(&link).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let verified = other
        .post(
            &app.url("/email/verify"),
            &[
                ("csrf", &confirm.hidden("csrf")),
                ("token", &confirm.hidden("token")),
            ],
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(user(&app, "nora@example.com").await.unwrap().email_verified);

    // ... and continues: the request waited for her.
    let code = allow(&b, &app, &rid).await;
    assert_eq!(code.status, 303, "{}", code.body);
    let q = code.query();
    let (s, tokens) = exchange(&app, &q["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_with_an_account_gets_the_same_answer_and_nothing_is_made() {
    let sink = Sink::start();
    let app = TestApp::start_with(signup_config(sink.port), "").await;
    let known = add_user(&app, "known@example.com").await;
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let form = b.get(&app.url(&format!("/signup?r={rid}"))).await;
    let csrf = form.hidden("csrf");
    let submit = |email: &'static str| {
        let (b, csrf, rid, url) = (&b, csrf.clone(), rid.clone(), app.url("/signup"));
        async move {
            b.post(
                &url,
                &[
                    ("csrf", &csrf),
                    ("r", &rid),
                    ("email", email),
                    ("name", ""),
                    ("password", NEW_PASSWORD),
                ],
            )
            .await
        }
    };
    let a = submit("known@example.com").await;
    let n = submit("fresh@example.com").await;
    assert_eq!((a.status, n.status), (200, 200));
    assert_eq!(a.body, n.body, "the same page either way");

    // The owner is told; their account is untouched.
    let notice = sink.one("already have an account").await;
    assert_eq!(notice.rcpt_tos, vec!["known@example.com"]);
    assert!(notice.text.contains("/password/forgot"), "{}", notice.text);
    assert!(!notice.text.contains("token="), "no link secret");
    sink.one("Confirm your email address").await;
    let after = user(&app, "known@example.com").await.unwrap();
    assert_eq!(after, known, "the existing account did not change");
    let old = password_step(&Browser::new(), &app, "", "known@example.com", PASSWORD).await;
    assert_eq!(old.status, 303, "its password still works");
    let new_pw = password_step(&Browser::new(), &app, "", "known@example.com", NEW_PASSWORD).await;
    assert_eq!(new_pw.status, 401, "the typed password was not set");

    // Three sign-ups per address in the window; the fourth sends nothing.
    for _ in 0..3 {
        assert_eq!(submit("known@example.com").await.body, a.body);
    }
    sink.wait_for(4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let to_known = sink
        .received()
        .into_iter()
        .filter(|m| m.rcpt_tos == vec!["known@example.com"])
        .count();
    assert_eq!(to_known, 3, "throttled");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_limit_and_header_injection_are_refused_plainly() {
    let sink = Sink::start();
    let mut cfg = signup_config(sink.port);
    cfg.signup.allowed_email_domains = vec!["example.com".into()];
    let app = TestApp::start_with(cfg, "").await;
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let cases = [
        ("out@other.example", "Eve", "allowed domain"),
        ("sub@mail.example.com", "Eve", "allowed domain"),
        (
            "eve@example.com\r\nBcc: mallory@evil.example",
            "Eve",
            "valid email address",
        ),
        (
            "eve@example.com",
            "Eve\r\nBcc: mallory@evil.example",
            "at most 200 characters, on one line",
        ),
        ("not-an-address", "", "valid email address"),
    ];
    for (email, name, says) in cases {
        let p = sign_up(&b, &app, &rid, email, name).await;
        assert_eq!(p.status, 400, "{email:?}: {}", p.body);
        assert!(p.body.contains("id=\"signup-error\""), "{}", p.body);
        assert!(p.body.contains(says), "{email:?} {name:?}: {}", p.body);
        assert!(!p.body.contains("\r\nBcc"), "the value is shown cleaned");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sink.received().is_empty(), "nothing was mailed");
    for e in [
        "out@other.example",
        "sub@mail.example.com",
        "eve@example.com",
    ] {
        assert!(user(&app, e).await.is_none(), "{e}");
    }
    // The allowed domain works.
    let ok = sign_up(&b, &app, &rid, "ok@example.com", "Ok").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    created(&app, "ok@example.com").await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_mcp_server_overrides_the_instance() {
    let sink = Sink::start();
    let mut cfg = signup_config(sink.port);
    cfg.resources[0].signup = SignupPolicy::Closed; // weather
    let app = TestApp::start_with(cfg, "").await;
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let login = b.get(&app.url(&format!("/login?r={rid}"))).await;
    assert!(!login.body.contains("id=\"signup-link\""), "{}", login.body);
    assert_eq!(
        b.get(&app.url(&format!("/signup?r={rid}"))).await.status,
        404
    );
    let p = b
        .post(
            &app.url("/signup"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &rid),
                ("email", "new@example.com"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 404, "{}", p.body);

    // The other MCP server inherits the instance's rule: open.
    let notes = start_request(
        &app,
        &b,
        &[("resource", NOTES_URI), ("scope", "notes:read")],
    )
    .await;
    let login = b.get(&app.url(&format!("/login?r={notes}"))).await;
    assert!(login.body.contains("id=\"signup-link\""), "{}", login.body);

    // A verified self-made account is still not let into the closed one.
    let mut vera = add_user(&app, "vera@example.com").await;
    vera.signed_up = true;
    vera.email_verified = true;
    app.store.update_user(&vera).await.unwrap();
    let vb = Browser::new();
    let rid = start_request(&app, &vb, &[]).await;
    let signed_in = password_step(&vb, &app, &rid, "vera@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let held = vb.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(held.status, 403, "{}", held.body);
    assert!(
        held.body.contains("not open to your account"),
        "{}",
        held.body
    );
    app.shutdown().await;
}

/// Sign-up off for the instance and open on one MCP server: an account
/// made there (verified) is not a way into the servers that inherit the
/// instance's "off" (found in review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_mcp_server_does_not_open_the_others() {
    let sink = Sink::start();
    let mut cfg = signup_config(sink.port);
    cfg.signup.enabled = false;
    cfg.resources[0].signup = SignupPolicy::Open; // weather; notes inherits
    let app = TestApp::start_with(cfg, "").await;
    let mut vera = add_user(&app, "vera@example.com").await;
    vera.signed_up = true;
    vera.email_verified = true;
    app.store.update_user(&vera).await.unwrap();

    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let signed_in = password_step(&b, &app, &rid, "vera@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let open = b.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(open.status, 200, "the open server takes her: {}", open.body);

    let nb = Browser::new();
    let rid = start_request(
        &app,
        &nb,
        &[("resource", NOTES_URI), ("scope", "notes:read")],
    )
    .await;
    let signed_in = password_step(&nb, &app, &rid, "vera@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let held = nb.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(held.status, 403, "{}", held.body);
    assert!(
        held.body.contains("not open to your account"),
        "{}",
        held.body
    );
    let none = nb
        .get(&authorize_url(
            &app,
            &[
                ("resource", NOTES_URI),
                ("scope", "notes:read"),
                ("prompt", "none"),
            ],
        ))
        .await;
    assert!(!none.query().contains_key("code"), "{:?}", none.location);
    app.shutdown().await;
}

/// The refresh token `email` gets for the public client on weather.
async fn refresh_token_for(app: &TestApp, email: &str) -> String {
    let b = Browser::new();
    let p = authorize_through(app, &b, email, &[]).await;
    let (s, t) = exchange(app, &p.query()["code"], VERIFIER).await;
    assert_eq!(s, 200, "{t}");
    t["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// Sets weather's sign-up rule through the admin API, as an operator
/// would: PUT back what GET gives, with `signup` changed.
async fn set_weather_signup(admin: &crate::admin::Admin, rule: &str) {
    let (s, mut r) = admin.call("GET", "/resources/weather", None).await;
    assert_eq!(s, 200, "{r}");
    let o = r.as_object_mut().unwrap();
    for read_only in ["builtin", "metadata_url", "created_at", "updated_at"] {
        o.remove(read_only);
    }
    o.insert("signup".into(), rule.into());
    let (s, r) = admin.call("PUT", "/resources/weather", Some(r)).await;
    assert_eq!((s, r["signup"].as_str()), (200, Some(rule)), "{r}");
}

/// An MCP server closed to self-made accounts after they got tokens: their
/// refreshes stop at once, not when the tokens expire; an operator-made
/// account on the same server keeps refreshing. Nothing is revoked (as for
/// a disabled person): reopening the server lets the grant work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_an_mcp_server_stops_refreshes_of_self_made_accounts() {
    let sink = Sink::start();
    let mut cfg = crate::admin::admin_config();
    cfg.smtp = Some(smtp(sink.port));
    cfg.resources[0].signup = SignupPolicy::Open; // weather
    let app = TestApp::start_with(cfg, "").await;
    let mut vera = add_user(&app, "vera@example.com").await;
    vera.signed_up = true;
    vera.email_verified = true;
    app.store.update_user(&vera).await.unwrap();
    add_user(&app, "ada@example.com").await;

    let vera_rt = refresh_token_for(&app, "vera@example.com").await;
    let ada_rt = refresh_token_for(&app, "ada@example.com").await;
    let (s, t) = refresh(&app, &vera_rt, None).await;
    assert_eq!(s, 200, "the open server refreshes her token: {t}");
    let vera_rt = t["refresh_token"].as_str().unwrap().to_owned();

    let admin = crate::admin::Admin {
        token: crate::admin::client_token(&app, "ops", "authgate:admin").await,
        app,
    };
    set_weather_signup(&admin, "closed").await;
    let (s, e) = refresh(&admin.app, &vera_rt, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("self-registered accounts"),
        "{e}"
    );
    let (s, t) = refresh(&admin.app, &ada_rt, None).await;
    assert_eq!(s, 200, "an operator-made account still refreshes: {t}");

    set_weather_signup(&admin, "open").await;
    let (s, t) = refresh(&admin.app, &vera_rt, None).await;
    assert_eq!(s, 200, "the held grant was not revoked: {t}");
    admin.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_account_gets_no_code_even_with_a_remembered_consent() {
    let app = TestApp::start().await;
    let mut una = add_user(&app, "una@example.com").await;
    // Allowed once (say, before her address changed back to unverified).
    let b = Browser::new();
    let first = authorize_through(&app, &b, "una@example.com", &[]).await;
    assert!(first.query().contains_key("code"));
    una.signed_up = true;
    app.store.update_user(&una).await.unwrap();
    // Signed in already, consent remembered: still no code.
    let p = b.get(&authorize_url(&app, &[])).await;
    assert_eq!(p.status, 303);
    let loc = p.location.unwrap();
    assert!(loc.contains("/consent?r="), "{loc}");
    let held = b.get(&abs(&app, &loc)).await;
    assert_eq!(held.status, 403, "{}", held.body);
    // prompt=none says interaction is needed.
    let none = b.get(&authorize_url(&app, &[("prompt", "none")])).await;
    assert_eq!(none.query()["error"], "interaction_required");
    // A fresh sign-in with a remembered consent goes to the page too.
    let nb = Browser::new();
    let rid = start_request(&app, &nb, &[]).await;
    let signed_in = password_step(&nb, &app, &rid, "una@example.com", PASSWORD).await;
    assert!(
        signed_in
            .location
            .as_deref()
            .unwrap()
            .contains("/consent?r="),
        "{:?}",
        signed_in.location
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_sets_a_password_once_and_verifies_the_address() {
    let sink = Sink::start();
    let mut cfg = crate::admin::admin_config();
    cfg.smtp = Some(smtp(sink.port));
    let app = TestApp::start_with(cfg, "").await;
    let token = crate::admin::client_token(&app, "ops", "authgate:admin").await;
    let invite = |body: serde_json::Value| {
        let (app, token) = (&app, token.clone());
        async move {
            let resp = app
                .http
                .post(app.url("/admin/api/v1/invitations"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let s = resp.status().as_u16();
            (s, resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, body) = invite(serde_json::json!({"email": "ivy@example.com", "name": "Ivy"})).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["user"]["email"], "ivy@example.com");
    assert!(body.get("url").is_none() && !body.to_string().contains("token="));
    let (s, body) =
        invite(serde_json::json!({"email": "x@example.com\r\nBcc: e@evil.example"})).await;
    assert_eq!(s, 400, "{body}");
    let mail = sink.one("You are invited").await;
    assert_eq!(mail.rcpt_tos, vec!["ivy@example.com"]);
    let link = mail.link("/invitation?token=");
    let ivy = user(&app, "ivy@example.com").await.unwrap();
    assert!(!ivy.email_verified && !ivy.signed_up);

    // Accept: choose a password.
    let b = Browser::new();
    let form = b.get(&link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let done = accept(&b, &app, &form.hidden("csrf"), &form.hidden("token")).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let ivy = user(&app, "ivy@example.com").await.unwrap();
    assert!(ivy.email_verified, "receiving the mail verified it");
    let signed_in = password_step(&Browser::new(), &app, "", "ivy@example.com", NEW_PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    // Once.
    let again = accept(&b, &app, &form.hidden("csrf"), &form.hidden("token")).await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert_eq!(Browser::new().get(&link).await.status, 404);
    // An accepted invitation is an account: inviting again is a conflict.
    let (s, body) = invite(serde_json::json!({"email": "ivy@example.com"})).await;
    assert_eq!(s, 409, "{body}");

    // An expired link does not work.
    let (_, body) = invite(serde_json::json!({"email": "late@example.com"})).await;
    let late_id = body["user"]["id"].as_str().unwrap().to_owned();
    let short = authgate_authority::setup_links::create_email_link(
        app.state(),
        authgate_authority::setup_links::Purpose::Invitation,
        &late_id,
        "late@example.com",
        1,
    )
    .await
    .unwrap();
    let form = Browser::new().get(&short.url).await;
    assert_eq!(form.status, 200, "live at first");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(Browser::new().get(&short.url).await.status, 404);
    // An invitation link is not a password reset link.
    let live = authgate_authority::setup_links::create_email_link(
        app.state(),
        authgate_authority::setup_links::Purpose::Invitation,
        &late_id,
        "late@example.com",
        3600,
    )
    .await
    .unwrap();
    let as_reset = live.url.replace("/invitation?", "/password/reset?");
    assert_eq!(Browser::new().get(&as_reset).await.status, 404);
    assert_eq!(Browser::new().get(&live.url).await.status, 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_servers_sign_up_rule_is_set_through_the_admin_api() {
    let admin = crate::admin::Admin::start().await;
    let (s, r) = admin
        .call(
            "POST",
            "/resources",
            Some(serde_json::json!({"id": "closed-one", "name": "Closed", "uri": "https://closed.example/mcp", "signup": "closed"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["signup"], "closed");
    let (_, r) = admin.call("GET", "/resources/weather", None).await;
    assert_eq!(r["signup"], "inherit", "the default");
    let (s, r) = admin
        .call(
            "POST",
            "/resources",
            Some(serde_json::json!({"name": "Bad", "uri": "https://bad.example/mcp", "signup": "sometimes"})),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    let stored = admin.app.store.get_resource("closed-one").await.unwrap();
    assert_eq!(stored.unwrap().signup, SignupPolicy::Closed);
    admin.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_invites_from_the_dashboard() {
    let sink = Sink::start();
    let mut cfg = crate::admin::admin_config();
    cfg.smtp = Some(smtp(sink.port));
    let app = TestApp::start_with(cfg, "").await;
    crate::admin::add_admin(&app, "boss@example.com").await;
    let b = Browser::new();
    crate::admin::sign_in(&app, &b, "boss@example.com").await;
    let users = b.get(&app.url("/admin/users")).await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(users.body.contains("id=\"invite-form\""), "{}", users.body);
    let done = b
        .post(
            &app.url("/admin/users/invite"),
            &[
                ("csrf", &users.hidden("csrf")),
                ("email", "dana@example.com"),
                ("name", "Dana"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Invitation mailed to dana@example.com"),
        "{}",
        done.body
    );
    let mail = sink.one("You are invited").await;
    assert_eq!(mail.rcpt_tos, vec!["dana@example.com"]);
    assert!(!done.body.contains("token="), "the link is not shown");
    let again = b
        .post(
            &app.url("/admin/users/invite"),
            &[
                ("csrf", &users.hidden("csrf")),
                ("email", "boss@example.com"),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(again.status, 400, "an account: {}", again.body);
    assert!(
        again.body.contains("already has an account"),
        "{}",
        again.body
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_need_smtp() {
    let admin = crate::admin::Admin::start().await;
    let (s, r) = admin
        .call(
            "POST",
            "/invitations",
            Some(serde_json::json!({"email": "ivy@example.com"})),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    assert!(r.to_string().contains("[smtp]"), "{r}");
    assert!(
        admin
            .app
            .store
            .get_user_by_email("ivy@example.com")
            .await
            .unwrap()
            .is_none()
    );
    admin.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_an_organization_without_passwords_cannot_sign_up_with_one() {
    use authgate_authority::orgs::manage::{self as orgs, OrgInput};
    let sink = Sink::start();
    let app = TestApp::start_with(signup_config(sink.port), "").await;
    let actor = authgate_authority::manage::Actor {
        name: "ops@example.com".into(),
        address: None,
        user_id: None,
    };
    let input = OrgInput {
        id: "corp".into(),
        name: "Corp Inc".into(),
        connection_ids: vec![],
        forbid_local_passwords: true,
        require_mfa: false,
    };
    orgs::create_org(app.state(), &actor, input).await.unwrap();
    orgs::add_domain(app.state(), &actor, "corp", "corp.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor, "corp", "corp.test")
        .await
        .unwrap();
    let b = Browser::new();
    let rid = start_request(&app, &b, &[]).await;
    let p = sign_up(&b, &app, &rid, "bob@corp.test", "Bob").await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("company"), "{}", p.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(user(&app, "bob@corp.test").await.is_none());
    assert!(sink.received().is_empty());
    app.shutdown().await;
}
