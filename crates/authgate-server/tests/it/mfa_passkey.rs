//! A passkey as the second factor enrolled on the sign-in's second step
//! (`/login/mfa/passkey`, when MFA is required and the person has none):
//! the ceremony is bound to the pending sign-in of a just-verified
//! password, refused without one, replayed or for another person, and
//! ends like the app's enrolment (recovery codes once, continue, consent,
//! code); a recovery code then stands in for the passkey, once. The browser's
//! side is `soft_passkey` (a software authenticator); the issuer is
//! `http://localhost:<port>`, since passkeys need a host name.

use crate::browser::*;
use crate::mfa::{
    authorize_password, codes_of, consent_and_code, enrol, password_sign_in, step_form,
    user_with_totp,
};
use crate::soft_passkey::SoftPasskey;
use crate::support::*;
use serde_json::{Value, json};

async fn required_mfa_app() -> TestApp {
    let mut cfg = default_config();
    cfg.mfa.required = true;
    TestApp::start_on_host(cfg, "localhost").await
}

/// The session cookie a response sets, as `name=value`.
fn set_cookie(p: &Page) -> String {
    p.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.contains("authgate_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The codes page's link on (`#mfa-continue`), as a path.
fn continue_link(p: &Page) -> String {
    let needle = "id=\"mfa-continue\" href=\"";
    let start = p
        .body
        .find(needle)
        .unwrap_or_else(|| panic!("no continue link: {}", p.body))
        + needle.len();
    let end = p.body[start..].find('"').unwrap() + start;
    p.body[start..end].replace("&amp;", "&")
}

/// `POST <path>` for a ceremony's options: the page and its `publicKey`.
async fn options(app: &TestApp, b: &Browser, path: &str, csrf: &str, r: &str) -> (Page, Value) {
    let p = b.post(&app.url(path), &[("csrf", csrf), ("r", r)]).await;
    let v = serde_json::from_str::<Value>(&p.body).unwrap_or(Value::Null);
    (p, v)
}

/// A forced enrolment with a passkey, up to the registration's answer.
struct Enrolled {
    key: SoftPasskey,
    rid: String,
    /// The answer to `POST /login/mfa/passkey`.
    done: Page,
    /// The session cookie that held the pending sign-in and the ceremony.
    ceremony_cookie: String,
    /// The ceremony's options (`publicKey`), and the page's CSRF token.
    options: Value,
    csrf: String,
}

/// Password (through /authorize) → forced enrolment → a passkey.
async fn enrol_passkey(app: &TestApp, b: &Browser, email: &str) -> Enrolled {
    let extra = [("scope", "openid weather:read"), ("nonce", "n-pk")];
    let (p, rid) = authorize_password(app, b, email, &extra).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let step = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(step.status, 200, "{}", step.body);
    // Both ways to enrol; the passkey one runs the page script.
    assert!(step.body.contains("id=\"mfa-enrol\""), "{}", step.body);
    assert!(
        step.body.contains("id=\"mfa-passkey-enrol\""),
        "{}",
        step.body
    );
    assert!(step.body.contains("/assets/passkey.js"));
    let csp = step.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let (csrf, r) = step_form(&step);

    let (opts, v) = options(app, b, "/login/mfa/passkey/options", &csrf, &r).await;
    assert_eq!(opts.status, 200, "{}", opts.body);
    let ceremony_cookie = set_cookie(&opts);
    let mut key = SoftPasskey::new(&app.origin());
    let cred = key.create(&v["publicKey"]);
    let done = b
        .post(
            &app.url("/login/mfa/passkey"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("credential", &cred),
                ("name", "Laptop"),
            ],
        )
        .await;
    Enrolled {
        key,
        rid,
        done,
        ceremony_cookie,
        options: v["publicKey"].clone(),
        csrf,
    }
}

#[tokio::test]
async fn mfa_enrolment_with_a_passkey_ends_with_a_code_and_is_single_use() {
    let app = required_mfa_app().await;
    let ada = add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let e = enrol_passkey(&app, &b, "ada@example.com").await;
    // Signed in, the recovery codes shown once (the app's enrolment's
    // page), with the link on.
    assert_eq!(e.done.status, 200, "{}", e.done.body);
    assert_eq!(codes_of(&e.done).len(), 10, "{}", e.done.body);
    assert!(
        e.done.body.contains("if you lose your passkey"),
        "{}",
        e.done.body
    );
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 10);
    let loc = continue_link(&e.done);
    let to = url::Url::parse(&abs(&app, &loc)).unwrap();
    assert!(to.path().ends_with("/login/mfa/continue"), "{loc}");
    assert_eq!(
        to.query_pairs().find(|(k, _)| k == "r").unwrap().1,
        e.rid,
        "{loc}"
    );
    let stored = app.store.list_passkeys_for_user(&ada.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "Laptop");

    // On as after the app's enrolment: continue, consent, the code.
    let next = b.get(&abs(&app, &loc)).await;
    let code = consent_and_code(&app, &b, next).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "hwk", "mfa"]), "{at}");

    // The ceremony is spent: the browser's earlier cookie (still holding
    // the pending sign-in and the ceremony) replayed with a valid answer
    // to the same challenge from another authenticator, once the passkey
    // is gone again so that a factor is owed, is refused with a page and
    // adds nothing.
    assert!(
        app.store
            .delete_passkey(&ada.id, &stored[0].id)
            .await
            .unwrap()
    );
    let cred = SoftPasskey::new(&app.origin()).create(&e.options);
    let replay = app
        .http
        .post(app.url("/login/mfa/passkey"))
        .header("cookie", &e.ceremony_cookie)
        .form(&[
            ("csrf", e.csrf.as_str()),
            ("r", e.rid.as_str()),
            ("credential", cred.as_str()),
            ("name", "Again"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let body = replay.text().await.unwrap();
    assert!(
        body.contains("This passkey request expired or was already used."),
        "{body}"
    );
    assert!(body.contains("id=\"mfa-enrol\""), "{body}");
    assert!(
        app.store
            .list_passkeys_for_user(&ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    app.shutdown().await;
}

/// After the enrolment the next sign-in owes the passkey: the step asks for
/// it (nothing to enrol any more) and it completes the sign-in.
#[tokio::test]
async fn mfa_after_a_passkey_enrolment_the_next_sign_in_asks_for_the_passkey() {
    let app = required_mfa_app().await;
    add_user(&app, "ada@example.com").await;
    let mut key = {
        let e = enrol_passkey(&app, &Browser::new(), "ada@example.com").await;
        assert_eq!(e.done.status, 200, "{}", e.done.body);
        e.key
    };

    let b = Browser::new();
    let (p, _) = authorize_password(&app, &b, "ada@example.com", &[]).await;
    assert!(p.location.as_deref().unwrap().contains("/login/mfa"));
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(
        step.body.contains("id=\"passkey-sign-in\""),
        "{}",
        step.body
    );
    assert!(!step.body.contains("id=\"mfa-enrol\""), "{}", step.body);
    assert!(!step.body.contains("id=\"mfa-passkey-enrol\""));
    // A recovery code may stand in for the passkey.
    assert!(step.body.contains("id=\"mfa-recovery\""), "{}", step.body);
    assert!(step.body.contains("Lost your passkey? Use a recovery code"));
    let (csrf, r) = step_form(&step);
    // Enrolling another factor instead is no way around it.
    let (no, _) = options(&app, &b, "/login/mfa/passkey/options", &csrf, &r).await;
    assert_eq!(no.status, 409, "{}", no.body);
    // Half signed in until the passkey is given.
    assert_eq!(b.get(&app.url("/account")).await.status, 303);

    let (opts, v) = options(&app, &b, "/login/passkey/options", &csrf, &r).await;
    assert_eq!(opts.status, 200, "{}", opts.body);
    let cred = key.get(&v["publicKey"]);
    let p = b
        .post(
            &app.url("/login/passkey"),
            &[("csrf", &csrf), ("r", &r), ("credential", &cred)],
        )
        .await;
    let code = consent_and_code(&app, &b, p).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "hwk", "mfa"]), "{at}");
    app.shutdown().await;
}

/// The codes shown after a passkey enrolment stand in for the passkey:
/// password + one code signs in (each code once); a person with only
/// passkeys makes new codes on the account page with their password; and
/// once no factor is left, a leftover code is no way around enrolling.
#[tokio::test]
async fn mfa_after_a_passkey_enrolment_a_recovery_code_stands_in_for_it_once() {
    let app = required_mfa_app().await;
    let ada = add_user(&app, "ada@example.com").await;
    let codes = {
        let e = enrol_passkey(&app, &Browser::new(), "ada@example.com").await;
        assert_eq!(e.done.status, 200, "{}", e.done.body);
        codes_of(&e.done)
    };
    assert_eq!(codes.len(), 10);

    // Password and a recovery code (no passkey): signed in, `otp`.
    let recover = |code: String| {
        let app = &app;
        async move {
            let b = Browser::new();
            let extra = [("scope", "openid weather:read"), ("nonce", "n-rc")];
            let (p, _) = authorize_password(app, &b, "ada@example.com", &extra).await;
            assert!(p.location.as_deref().unwrap().contains("/login/mfa"));
            let step = b.get(&abs(app, p.location.as_deref().unwrap())).await;
            assert_eq!(step.status, 200, "{}", step.body);
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
    let (b, p) = recover(codes[0].clone()).await;
    let code = consent_and_code(&app, &b, p).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "otp", "mfa"]), "{at}");
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 9);

    // The same code again: refused, nothing spent.
    let (other, p) = recover(codes[0].clone()).await;
    assert_eq!(p.status, 401, "a recovery code is used once: {}", p.body);
    assert!(p.body.contains("The code is not correct."), "{}", p.body);
    assert_eq!(other.get(&app.url("/account")).await.status, 303);
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 9);

    // On the account page, without an app: new codes with the password.
    let page = b.get(&app.url("/account/mfa")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"mfa-regenerate\""), "{}", page.body);
    assert!(
        page.body.contains("Recovery codes left: 9"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let wrong = b
        .post(
            &app.url("/account/mfa/recovery-codes"),
            &[("csrf", &csrf), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
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
    let (_, p) = recover(codes[1].clone()).await;
    assert_eq!(p.status, 401, "the old codes stopped working: {}", p.body);

    // Once the passkey is gone, the codes stand in for nothing: the step
    // asks for an enrolment and a code is refused without being spent.
    for k in app.store.list_passkeys_for_user(&ada.id).await.unwrap() {
        assert!(app.store.delete_passkey(&ada.id, &k.id).await.unwrap());
    }
    let (other, p) = recover(new_codes[0].clone()).await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("id=\"mfa-enrol\""), "{}", p.body);
    assert_eq!(other.get(&app.url("/account")).await.status, 303);
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 10);
    app.shutdown().await;
}

/// No registration without a pending sign-in from a just-verified password
/// that owes an enrolment, with this page's CSRF token, for this person.
#[tokio::test]
async fn mfa_passkey_enrolment_is_refused_without_a_pending_sign_in_that_owes_one() {
    let app = required_mfa_app().await;
    let ada = add_user(&app, "ada@example.com").await;
    let bob = add_user(&app, "bob@example.com").await;

    // A fresh browser: no session at all, then a sign-in page's
    // pre-session (a CSRF token, no password given).
    let fresh = Browser::new();
    let (p, v) = options(&app, &fresh, "/login/mfa/passkey/options", "x", "").await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(v["publicKey"].is_null());
    let login = fresh.get(&app.url("/login")).await;
    let csrf = login.hidden("csrf");
    let (p, _) = options(&app, &fresh, "/login/mfa/passkey/options", &csrf, "").await;
    assert_eq!(p.status, 401, "{}", p.body);
    let p = fresh
        .post(
            &app.url("/login/mfa/passkey"),
            &[("csrf", &csrf), ("credential", "{}"), ("name", "K")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location.unwrap().contains("/login"));

    // A pending sign-in, but not this page's CSRF token.
    let b = Browser::new();
    let (p, _) = authorize_password(&app, &b, "ada@example.com", &[]).await;
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let (p, _) = options(&app, &b, "/login/mfa/passkey/options", "wrong", &r).await;
    assert_eq!(p.status, 403, "{}", p.body);

    // A ceremony started for ada, answered after bob's password in the
    // same browser: foreign to bob's sign-in, refused with a page.
    let (p, v) = options(&app, &b, "/login/mfa/passkey/options", &csrf, &r).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let cred = SoftPasskey::new(&app.origin()).create(&v["publicKey"]);
    let (p, _) = authorize_password(&app, &b, "bob@example.com", &[]).await;
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let p = b
        .post(
            &app.url("/login/mfa/passkey"),
            &[
                ("csrf", "wrong"),
                ("r", &r),
                ("credential", &cred),
                ("name", "K"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = b
        .post(
            &app.url("/login/mfa/passkey"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("credential", &cred),
                ("name", "K"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains("This passkey request was started for another sign-in."),
        "{}",
        p.body
    );
    for u in [&ada, &bob] {
        assert!(
            app.store
                .list_passkeys_for_user(&u.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
    app.shutdown().await;
}

/// A person who already has a second factor gives it: the enrolment's
/// endpoints refuse to add a passkey on their half-finished sign-in.
#[tokio::test]
async fn mfa_passkey_enrolment_is_no_way_around_an_existing_factor() {
    let app = TestApp::start_on_host(default_config(), "localhost").await;
    user_with_totp(&app, "ada@example.com").await;
    let b = Browser::new();
    let p = password_sign_in(&app, &b, "ada@example.com", "").await;
    assert!(p.location.as_deref().unwrap().contains("/login/mfa"));
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert!(!step.body.contains("id=\"mfa-passkey-enrol\""));
    let (csrf, r) = step_form(&step);
    let (p, _) = options(&app, &b, "/login/mfa/passkey/options", &csrf, &r).await;
    assert_eq!(p.status, 409, "{}", p.body);
    let p = b
        .post(
            &app.url("/login/mfa/passkey"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("credential", "{}"),
                ("name", "K"),
            ],
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body.contains("A second factor is already set up."),
        "{}",
        p.body
    );
    assert_eq!(b.get(&app.url("/account")).await.status, 303);
    app.shutdown().await;
}

/// Signs `email` up (no MFA required) in a browser that stays signed in,
/// with the authenticator app on: the browser and the recovery codes.
async fn signed_in_with_app(app: &TestApp, email: &str) -> (Browser, Vec<String>) {
    add_user(app, email).await;
    let b = Browser::new();
    let p = password_sign_in(app, &b, email, "").await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (_, codes) = enrol(app, &b).await;
    (b, codes)
}

/// Adds a passkey ("Laptop") on `/account/passkeys` in a signed-in browser.
async fn add_passkey(app: &TestApp, b: &Browser) {
    let list = b.get(&app.url("/account/passkeys")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let csrf = list.hidden("csrf");
    let (opts, v) = options(app, b, "/account/passkeys/options", &csrf, "").await;
    assert_eq!(opts.status, 200, "{}", opts.body);
    let cred = SoftPasskey::new(&app.origin()).create(&v["publicKey"]);
    let added = b
        .post(
            &app.url("/account/passkeys"),
            &[("csrf", &csrf), ("credential", &cred), ("name", "Laptop")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
}

/// Removes each of `user_id`'s passkeys on `/account/passkeys`.
async fn remove_passkeys(app: &TestApp, b: &Browser, user_id: &str) {
    let keys = app.store.list_passkeys_for_user(user_id).await.unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        let list = b.get(&app.url("/account/passkeys")).await;
        assert_eq!(list.status, 200, "{}", list.body);
        let p = b
            .post(
                &app.url(&format!("/account/passkeys/{}/delete", k.id)),
                &[("csrf", &list.hidden("csrf"))],
            )
            .await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("Passkey removed."), "{}", p.body);
    }
    assert!(
        app.store
            .list_passkeys_for_user(user_id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Turns the app off on `/account/mfa` with the password.
async fn turn_app_off(app: &TestApp, b: &Browser) {
    let page = b.get(&app.url("/account/mfa")).await;
    assert!(page.body.contains("id=\"mfa-remove\""), "{}", page.body);
    let p = b
        .post(
            &app.url("/account/mfa/remove"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("code", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"mfa-setup\""), "{}", p.body);
}

/// Turning the app off keeps the recovery codes while a passkey is left
/// (they stand in for it: password + a code signs in), and deletes them
/// with the last factor.
#[tokio::test]
async fn mfa_turning_the_app_off_keeps_the_codes_only_while_a_passkey_is_left() {
    let app = TestApp::start_on_host(default_config(), "localhost").await;

    // Ada: the app, then a passkey added on the account page.
    let (b, codes) = signed_in_with_app(&app, "ada@example.com").await;
    add_passkey(&app, &b).await;
    let ada = app
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store
            .list_passkeys_for_user(&ada.id)
            .await
            .unwrap()
            .len(),
        1
    );

    turn_app_off(&app, &b).await;
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 10);

    // Password and one of the kept codes: signed in, the code spent.
    let b = Browser::new();
    let extra = [("scope", "openid weather:read"), ("nonce", "n-off")];
    let (p, _) = authorize_password(&app, &b, "ada@example.com", &extra).await;
    assert!(p.location.as_deref().unwrap().contains("/login/mfa"));
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("id=\"mfa-recovery\""), "{}", step.body);
    let (csrf, r) = step_form(&step);
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "recovery"),
                ("code", &codes[0]),
            ],
        )
        .await;
    let code = consent_and_code(&app, &b, p).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd", "otp", "mfa"]), "{at}");
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 9);

    // Bob: the app alone; turning it off leaves no codes.
    let (b, _) = signed_in_with_app(&app, "bob@example.com").await;
    let bob = app
        .store
        .get_user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.store.count_recovery_codes(&bob.id).await.unwrap(), 10);
    turn_app_off(&app, &b).await;
    assert_eq!(app.store.count_recovery_codes(&bob.id).await.unwrap(), 0);
    app.shutdown().await;
}

/// Removing a passkey keeps the recovery codes while the authenticator app
/// is left (they still stand in for it: password + a code signs in), and
/// deletes them with the last factor, as turning the app off does.
#[tokio::test]
async fn mfa_removing_the_last_passkey_deletes_the_codes_only_without_the_app() {
    let app = TestApp::start_on_host(default_config(), "localhost").await;

    // Ada: the app and a passkey; the passkey goes, the app and the
    // codes stay.
    let (b, codes) = signed_in_with_app(&app, "ada@example.com").await;
    add_passkey(&app, &b).await;
    let ada = app
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    remove_passkeys(&app, &b, &ada.id).await;
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 10);
    let page = b.get(&app.url("/account/mfa")).await;
    assert!(
        page.body.contains("Recovery codes left: 10"),
        "{}",
        page.body
    );
    // A kept code still stands in for the app.
    let b = Browser::new();
    let (p, _) = authorize_password(&app, &b, "ada@example.com", &[]).await;
    assert!(p.location.as_deref().unwrap().contains("/login/mfa"));
    let step = b.get(&abs(&app, p.location.as_deref().unwrap())).await;
    let (csrf, r) = step_form(&step);
    let p = b
        .post(
            &app.url("/login/mfa"),
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("method", "recovery"),
                ("code", &codes[0]),
            ],
        )
        .await;
    let code = consent_and_code(&app, &b, p).await;
    let (s, tok) = exchange(&app, &code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(app.store.count_recovery_codes(&ada.id).await.unwrap(), 9);

    // Bob: a passkey and recovery codes, no app; removing the passkey
    // deletes the codes.
    let bob = add_user(&app, "bob@example.com").await;
    let b = Browser::new();
    let p = password_sign_in(&app, &b, "bob@example.com", "").await;
    assert_eq!(p.status, 303, "{}", p.body);
    add_passkey(&app, &b).await;
    let page = b.get(&app.url("/account/mfa")).await;
    assert!(page.body.contains("id=\"mfa-regenerate\""), "{}", page.body);
    let made = b
        .post(
            &app.url("/account/mfa/recovery-codes"),
            &[("csrf", &page.hidden("csrf")), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(codes_of(&made).len(), 10);
    assert_eq!(app.store.count_recovery_codes(&bob.id).await.unwrap(), 10);
    remove_passkeys(&app, &b, &bob.id).await;
    assert_eq!(app.store.count_recovery_codes(&bob.id).await.unwrap(), 0);
    app.shutdown().await;
}
