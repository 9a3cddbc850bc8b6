//! Two-step sign-in (issue 21, part 2): an authenticator app (TOTP) and
//! recovery codes on `/account/mfa`, the `/login/mfa` step after the
//! password, `[mfa] required` and an organization's `require_mfa`, and
//! that half a sign-in reaches nothing. The codes are computed here with
//! aws-lc-rs's HMAC-SHA1 and the RFC 4226 truncation, independently of the
//! `totp-rs` crate the server uses.

use crate::browser::*;
use crate::support::*;
use authgate_authority::manage::Actor;
use authgate_authority::orgs::manage::{self as orgs, OrgInput};
use serde_json::json;

/// RFC 4648 base32 (the key the page shows, spaces allowed).
fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0u32, 0u64, Vec::new());
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = A.iter().position(|a| *a == c.to_ascii_uppercase()).unwrap() as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The 6-digit TOTP code of `secret` at Unix time `t` (RFC 6238, SHA-1,
/// 30 s).
fn totp_at(secret: &[u8], t: i64) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let counter = (t / 30) as u64;
    let mac = aws_lc_rs::hmac::sign(&key, &counter.to_be_bytes());
    let h = mac.as_ref();
    let o = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[o] & 0x7f) << 24)
        | (u32::from(h[o + 1]) << 16)
        | (u32::from(h[o + 2]) << 8)
        | u32::from(h[o + 3]);
    format!("{:06}", bin % 1_000_000)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The text of the element with `id` (up to the next tag).
fn text_of(p: &Page, id: &str) -> String {
    let needle = format!("id=\"{id}\">");
    let start = p
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id} in page: {}", p.body))
        + needle.len();
    let end = p.body[start..].find('<').unwrap() + start;
    p.body[start..end].to_string()
}

/// The recovery codes a page shows.
pub(crate) fn codes_of(p: &Page) -> Vec<String> {
    let start = p.body.find("id=\"recovery-codes\"").expect("codes shown");
    let end = p.body[start..].find("</ul>").unwrap() + start;
    p.body[start..end]
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_string())
        .collect()
}

/// Signs in with the password alone at `/login` (no pending request).
pub(crate) async fn password_sign_in(app: &TestApp, b: &Browser, email: &str, r: &str) -> Page {
    let login = b.get(&app.url("/login")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    b.post(
        &app.url("/login"),
        &[
            ("csrf", &login.hidden("csrf")),
            ("r", r),
            ("email", email),
            ("password", PASSWORD),
        ],
    )
    .await
}

/// Sets up the authenticator app on `/account/mfa` of the signed-in
/// browser `b`: its secret and the recovery codes shown once.
pub(crate) async fn enrol(app: &TestApp, b: &Browser) -> (Vec<u8>, Vec<String>) {
    let page = b.get(&app.url("/account/mfa")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"mfa-setup\""), "{}", page.body);
    let csrf = page.hidden("csrf");
    let setup = b
        .post(&app.url("/account/mfa/setup"), &[("csrf", &csrf)])
        .await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let csp = setup.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("img-src 'self' data:"), "{csp}");
    assert!(setup.body.contains("src=\"data:image/svg+xml;base64,"));
    let secret = base32_decode(&text_of(&setup, "totp-secret"));
    assert_eq!(secret.len(), 20);
    let uri = text_of(&setup, "totp-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    // Not on yet: a wrong code is refused and the same key is shown again.
    let wrong = b
        .post(
            &app.url("/account/mfa/confirm"),
            &[("csrf", &csrf), ("code", "000000x")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(base32_decode(&text_of(&wrong, "totp-secret")), secret);
    let done = b
        .post(
            &app.url("/account/mfa/confirm"),
            &[("csrf", &csrf), ("code", &totp_at(&secret, now()))],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = codes_of(&done);
    assert_eq!(codes.len(), 10, "{}", done.body);
    (secret, codes)
}

/// A user with an authenticator app set up (signed in once, then signed
/// out by dropping the browser).
pub(crate) async fn user_with_totp(app: &TestApp, email: &str) -> (Vec<u8>, Vec<String>) {
    add_user(app, email).await;
    let b = Browser::new();
    let p = password_sign_in(app, &b, email, "").await;
    assert_eq!(p.status, 303, "{}", p.body);
    enrol(app, &b).await
}

/// /authorize with `extra` → sign-in page → password: the answer to the
/// password (a redirect to the second step when one is owed) and the
/// request id.
pub(crate) async fn authorize_password(
    app: &TestApp,
    b: &Browser,
    email: &str,
    extra: &[(&str, &str)],
) -> (Page, String) {
    let p = b.get(&authorize_url(app, extra)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(login.status, 200, "{}", login.body);
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
    (p, rid)
}

/// From a redirect to consent, allows and returns the code.
pub(crate) async fn consent_and_code(app: &TestApp, b: &Browser, p: Page) -> String {
    assert_eq!(p.status, 303, "{}", p.body);
    let loc = p.location.clone().unwrap();
    assert!(loc.contains("/consent"), "{loc}");
    let consent = b.get(&abs(app, &loc)).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
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
    assert!(p.location.as_deref().unwrap().starts_with(REDIRECT));
    p.query()["code"].clone()
}

pub(crate) fn step_form(p: &Page) -> (String, String) {
    (p.hidden("csrf"), p.hidden("r"))
}

#[tokio::test]
async fn a_totp_code_completes_the_sign_in_once_and_tokens_say_otp_and_mfa() {
    let app = TestApp::start().await;
    let (secret, _) = user_with_totp(&app, "ada@example.com").await;

    let b = Browser::new();
    let extra = [("scope", "openid weather:read"), ("nonce", "n-1")];
    let (p, rid) = authorize_password(&app, &b, "ada@example.com", &extra).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.clone().unwrap();
    assert!(to.contains("/login/mfa?r="), "{to}");
    let step = b.get(&abs(&app, &to)).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("id=\"mfa-totp\""), "{}", step.body);
    assert!(step.body.contains("id=\"mfa-recovery\""));
    let (csrf, r) = step_form(&step);
    assert_eq!(r, rid);

    // A wrong code, and something that is not a code: refused, still
    // half signed in.
    for bad in [
        "000000".to_string(),
        "12345".into(),
        "abcdef".into(),
        "9".repeat(5000),
    ] {
        let bad = if bad == "000000" && totp_at(&secret, now()) == "000000" {
            "111111".to_string()
        } else {
            bad
        };
        let p = b
            .post(
                &app.url("/login/mfa"),
                &[
                    ("csrf", &csrf),
                    ("r", &r),
                    ("method", "totp"),
                    ("code", &bad),
                ],
            )
            .await;
        assert_eq!(p.status, 401, "{}", p.body);
        assert!(p.body.contains("id=\"mfa-error\""), "{}", p.body);
    }
    assert_eq!(b.get(&app.url("/account")).await.status, 303);

    // The code of the next step (the current one was spent confirming the
    // app, a minute ago at most) is within the skew.
    let code = totp_at(&secret, now() + 30);
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    let code_for_token = consent_and_code(&app, &b, p).await;
    let (s, tok) = exchange(&app, &code_for_token, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "otp", "mfa"]), "{at}");
    let id = decode_segment(tok["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]), "{id}");
    // Signed in now.
    assert_eq!(b.get(&app.url("/account")).await.status, 200);

    // The same code again, from another browser with the password: refused
    // (a time step is accepted once).
    let b2 = Browser::new();
    let (p, _) = authorize_password(&app, &b2, "ada@example.com", &extra).await;
    let step = b2.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let p = b2
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("already used"), "{}", p.body);
    assert_eq!(b2.get(&app.url("/account")).await.status, 303);

    // Audited.
    for n in ["mfa.enrolled", "mfa.failed", "mfa.verified"] {
        crate::admin::audit_event(&app, n, |e| e["event"] == n).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_recovery_code_works_once_and_new_codes_replace_the_old() {
    let app = TestApp::start().await;
    let (_, codes) = user_with_totp(&app, "ada@example.com").await;

    let recover = |code: String| {
        let app = &app;
        async move {
            let b = Browser::new();
            let p = password_sign_in(app, &b, "ada@example.com", "").await;
            assert_eq!(p.status, 303, "{}", p.body);
            let step = b.get(&abs(app, p.location.as_deref().unwrap())).await;
            let (csrf, r) = step_form(&step);
            let p = b
                .post(
                    &app.url("/login/mfa"),
                    &[
                        ("csrf", &csrf),
                        ("r", &r),
                        ("method", "recovery"),
                        ("code", &code),
                    ],
                )
                .await;
            (b, p)
        }
    };
    // Typed in capitals without dashes: the same code.
    let typed = codes[0].replace('-', "").to_uppercase();
    let (b, p) = recover(typed).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location.as_deref().unwrap().ends_with("/account"));
    let page = b.get(&app.url("/account/mfa")).await;
    assert!(
        page.body.contains("Recovery codes left: 9"),
        "{}",
        page.body
    );

    let (_, p) = recover(codes[0].clone()).await;
    assert_eq!(p.status, 401, "a recovery code is used once: {}", p.body);

    // New codes need fresh proof: the session alone is refused, and a
    // wrong password too; nothing changes then.
    let csrf = page.hidden("csrf");
    let bare = b
        .post(&app.url("/account/mfa/recovery-codes"), &[("csrf", &csrf)])
        .await;
    assert_eq!(bare.status, 401, "{}", bare.body);
    assert!(
        !bare.body.contains("id=\"recovery-codes\""),
        "{}",
        bare.body
    );
    let wrong = b
        .post(
            &app.url("/account/mfa/recovery-codes"),
            &[("csrf", &csrf), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let (_, p) = recover(codes[1].clone()).await;
    assert_eq!(
        p.status, 303,
        "a refused regeneration left the codes: {}",
        p.body
    );
    // With the password: new codes, and the old unused ones stop working.
    let fresh = b
        .post(
            &app.url("/account/mfa/recovery-codes"),
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let new_codes = codes_of(&fresh);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
    let (_, p) = recover(codes[2].clone()).await;
    assert_eq!(p.status, 401, "{}", p.body);
    let (_, p) = recover(new_codes[3].clone()).await;
    assert_eq!(p.status, 303, "{}", p.body);

    crate::admin::audit_event(&app, "recovery_code.used", |e| {
        e["event"] == "recovery_code.used"
    })
    .await;
    app.shutdown().await;
}

/// With `[mfa] required`, a person without a second factor sets up an
/// authenticator app before the sign-in completes; until then nothing
/// treats them as signed in.
#[tokio::test]
async fn required_mfa_makes_a_person_enrol_before_signing_in() {
    let mut cfg = default_config();
    cfg.mfa.required = true;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;

    let b = Browser::new();
    let extra = [("scope", "openid weather:read"), ("nonce", "n-2")];
    let (p, rid) = authorize_password(&app, &b, "ada@example.com", &extra).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("id=\"mfa-enrol\""), "{}", step.body);
    assert!(!step.body.contains("id=\"mfa-totp\""));
    let secret = base32_decode(&text_of(&step, "totp-secret"));
    let (csrf, r) = step_form(&step);

    // Half signed in: no account page, no consent, no enrolment from the
    // account page.
    assert_eq!(b.get(&app.url("/account")).await.status, 303);
    assert_eq!(b.get(&app.url("/account/mfa")).await.status, 303);
    let consent = b.get(&app.url(&format!("/consent?r={rid}"))).await;
    assert_eq!(consent.status, 303, "{}", consent.body);
    assert!(consent.location.unwrap().contains("/login"));

    let wrong = b
        .post(
            &app.url("/login/mfa/enroll"),
            &[("csrf", &csrf), ("r", &r), ("code", "12")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let done = b
        .post(
            &app.url("/login/mfa/enroll"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("code", &totp_at(&secret, now())),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(codes_of(&done).len(), 10);
    let next = b
        .get(&app.url(&format!("/login/mfa/continue?r={rid}")))
        .await;
    let code = consent_and_code(&app, &b, next).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "otp", "mfa"]), "{at}");

    // From now on the app is asked for.
    let b2 = Browser::new();
    let p = password_sign_in(&app, &b2, "ada@example.com", "").await;
    assert!(p.location.unwrap().contains("/login/mfa"));
    app.shutdown().await;
}

/// An organization's `require_mfa` applies to its members (by verified
/// email domain), not to others.
#[tokio::test]
async fn an_organization_can_require_mfa_for_its_members() {
    let app = TestApp::start().await;
    add_user(&app, "bob@corp.test").await;
    add_user(&app, "ada@example.com").await;
    let actor = Actor {
        name: "ops@example.com".into(),
        address: None,
        user_id: None,
    };
    orgs::create_org(
        app.state(),
        &actor,
        OrgInput {
            id: "corp".into(),
            name: "Corp".into(),
            connection_ids: vec![],
            forbid_local_passwords: false,
            require_mfa: true,
        },
    )
    .await
    .unwrap();
    orgs::add_domain(app.state(), &actor, "corp", "corp.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor, "corp", "corp.test")
        .await
        .unwrap();

    let p = password_sign_in(&app, &Browser::new(), "bob@corp.test", "").await;
    assert_eq!(p.status, 303);
    assert!(
        p.location.unwrap().contains("/login/mfa"),
        "member must enrol"
    );
    let p = password_sign_in(&app, &Browser::new(), "ada@example.com", "").await;
    assert_eq!(p.status, 303);
    assert!(p.location.unwrap().ends_with("/account"), "not a member");
    app.shutdown().await;
}

/// Half a sign-in (password right, second factor owed) reaches nothing: not
/// the account pages, not consent, not `/authorize` even with consent
/// remembered, not the dashboard — and it un-signs a browser that was
/// signed in as someone else before.
#[tokio::test]
async fn a_pending_second_factor_is_not_signed_in_anywhere() {
    let app = TestApp::start().await;
    let (secret, _) = user_with_totp(&app, "ada@example.com").await;
    add_user(&app, "bob@example.com").await;

    // Consent remembered for ada (a full sign-in with the app).
    let b = Browser::new();
    let (p, _) = authorize_password(&app, &b, "ada@example.com", &[]).await;
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "totp"),
                ("code", &totp_at(&secret, now() + 30)),
            ],
        )
        .await;
    consent_and_code(&app, &b, p).await;

    // A browser signed in as bob, then ada's password on it.
    let b = Browser::new();
    let p = password_sign_in(&app, &b, "bob@example.com", "").await;
    assert!(p.location.unwrap().ends_with("/account"));
    assert_eq!(b.get(&app.url("/account")).await.status, 200);
    let (p, rid) = authorize_password(&app, &b, "ada@example.com", &[]).await;
    assert!(p.location.unwrap().contains("/login/mfa"));

    for path in [
        "/account".to_string(),
        "/account/mfa".into(),
        "/account/passkeys".into(),
        format!("/consent?r={rid}"),
        "/admin".into(),
        "/".into(),
    ] {
        let p = b.get(&app.url(&path)).await;
        assert_eq!(p.status, 303, "{path}: {}", p.body);
        assert!(
            p.location.as_deref().unwrap().contains("/login"),
            "{path} -> {:?}",
            p.location
        );
    }
    // Posting consent is refused too.
    let p = b
        .post(
            &app.url("/consent"),
            &[("csrf", &csrf), ("r", &rid), ("decision", "allow")],
        )
        .await;
    assert_ne!(p.status, 200);
    assert!(
        !p.location.as_deref().unwrap_or("").starts_with(REDIRECT),
        "no code from consent: {:?}",
        p.location
    );
    // /authorize with consent remembered does not hand out a code.
    let p = b.get(&authorize_url(&app, &[])).await;
    assert_eq!(p.status, 303);
    let loc = p.location.unwrap();
    assert!(
        !loc.starts_with(REDIRECT),
        "no code while half signed in: {loc}"
    );
    assert!(loc.contains("/login"), "{loc}");
    // prompt=none says login_required rather than issuing.
    let p = b.get(&authorize_url(&app, &[("prompt", "none")])).await;
    assert!(p.location.unwrap().contains("error=login_required"));
    app.shutdown().await;
}

/// Removing the app takes a current code or the password; the recovery
/// codes go with it, and the next sign-in needs no second step.
#[tokio::test]
async fn removing_the_app_needs_a_code_or_the_password() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    password_sign_in(&app, &b, "ada@example.com", "").await;
    let (secret, codes) = enrol(&app, &b).await;
    let page = b.get(&app.url("/account/mfa")).await;
    assert!(page.body.contains("id=\"mfa-remove\""), "{}", page.body);
    let csrf = page.hidden("csrf");
    let p = b
        .post(
            &app.url("/account/mfa/remove"),
            &[("csrf", &csrf), ("code", ""), ("password", "wrong")],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    let p = b
        .post(
            &app.url("/account/mfa/remove"),
            &[("csrf", &csrf), ("code", "000000x"), ("password", "")],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(page_has_active(&b.get(&app.url("/account/mfa")).await));
    let p = b
        .post(
            &app.url("/account/mfa/remove"),
            &[("csrf", &csrf), ("code", &totp_at(&secret, now() + 30))],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"mfa-setup\""), "{}", p.body);
    let user = app
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.store.count_recovery_codes(&user.id).await.unwrap(), 0);
    assert!(!codes.is_empty());
    let p = password_sign_in(&app, &Browser::new(), "ada@example.com", "").await;
    assert!(p.location.unwrap().ends_with("/account"));
    app.shutdown().await;
}

fn page_has_active(p: &Page) -> bool {
    p.body.contains("id=\"mfa-remove\"")
}

/// Wrong codes are throttled like passwords: past the per account and
/// address limit, even the right code waits.
#[tokio::test]
async fn wrong_codes_are_throttled() {
    let mut cfg = default_config();
    cfg.login_max_failures_per_account = 3;
    let app = TestApp::start_with(cfg, "").await;
    let (secret, _) = user_with_totp(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = password_sign_in(&app, &b, "ada@example.com", "").await;
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let right = totp_at(&secret, now() + 30);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    for _ in 0..3 {
        let p = b
            .post(
                &app.url("/login/mfa"),
                &[
                    ("csrf", &csrf),
                    ("r", &r),
                    ("method", "totp"),
                    ("code", wrong),
                ],
            )
            .await;
        assert_eq!(p.status, 401, "{}", p.body);
    }
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "totp"),
                ("code", &right),
            ],
        )
        .await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("Too many failed attempts"), "{}", p.body);
    app.shutdown().await;
}

/// An operator resets a person who lost their second factors (admin API,
/// documented in OpenAPI): the app, the recovery codes and the passkeys go,
/// the person's sessions end, and the next sign-in is the password alone.
#[tokio::test]
async fn an_operator_resets_a_persons_second_factors() {
    let a = crate::admin::Admin::start().await;
    let app = &a.app;
    let (secret, _) = user_with_totp(app, "ada@example.com").await;
    let b = Browser::new();
    let p = password_sign_in(app, &b, "ada@example.com", "").await;
    let step = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "totp"),
                ("code", &totp_at(&secret, now() + 30)),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(b.get(&app.url("/account")).await.status, 200);

    let ada = app
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    let (s, v) = a
        .call("POST", &format!("/users/{}/mfa-reset", ada.id), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["totp_removed"], true, "{v}");
    assert_eq!(v["recovery_codes_removed"], 10, "{v}");
    assert_eq!(v["passkeys_removed"], 0, "{v}");
    let (s, _) = a.call("POST", "/users/nobody/mfa-reset", None).await;
    assert_eq!(s, 404);
    crate::admin::audit_event(app, "mfa.reset", |e| e["event"] == "mfa.reset").await;

    // Signed out, and the password alone signs in now.
    assert_eq!(b.get(&app.url("/account")).await.status, 303);
    let p = password_sign_in(app, &Browser::new(), "ada@example.com", "").await;
    assert!(p.location.unwrap().ends_with("/account"));

    let doc: serde_json::Value = app
        .http
        .get(a.api("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/users/{id}/mfa-reset"]["post"].is_object(),
        "{}",
        doc["paths"]
    );
}
