//! No write before proof (issue #17, defect 4): a visitor who has proved
//! nothing — no cookie, no sign-in — costs no row. Their CSRF token and
//! pending authorization request ride in a signed pre-session cookie; the
//! store gets a session at sign-in only.

use crate::admin::admin_config;
use crate::browser::{Browser, add_user, authorize_through, authorize_url};
use crate::support::*;

/// Every session-table row (sessions and one-time links): `purge_sessions`
/// with a time after every expiry deletes and counts them all.
async fn count_and_clear_session_rows(app: &TestApp) -> u64 {
    app.store.purge_sessions(i64::MAX).await.unwrap()
}

#[tokio::test]
async fn cookie_less_visitors_write_no_session_rows() {
    let app = TestApp::start_with(admin_config(), "").await;
    let link = authgate_authority::setup_links::announce(app.state())
        .await
        .expect("no admin yet: a setup link");
    let paths = [
        app.url("/login"),
        app.url("/admin"),
        app.url("/admin/clients"),
        authorize_url(&app, &[]),
        link.clone(),
    ];
    for _ in 0..10 {
        for p in &paths {
            // A fresh client each time: no cookie, like a flood would be.
            let r = app.http.get(p).send().await.unwrap();
            let status = r.status().as_u16();
            assert!(
                matches!(status, 200 | 303),
                "GET {p}: {status} {}",
                r.text().await.unwrap_or_default()
            );
        }
    }
    // Only the setup link's own record (made by the operator's start-up).
    assert_eq!(count_and_clear_session_rows(&app).await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn the_flow_still_works_and_stores_a_session_only_at_sign_in() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    // Visiting /authorize and the sign-in page stores nothing …
    let p = b.get(&authorize_url(&app, &[])).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = b
        .get(&crate::browser::abs(&app, p.location.as_deref().unwrap()))
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(count_and_clear_session_rows(&app).await, 0);
    // … the whole flow still ends at the client with a code …
    let done = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let q = done.query();
    assert!(q.contains_key("code"), "{:?}", done.location);
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    // … and sign-in stored exactly one session.
    assert_eq!(count_and_clear_session_rows(&app).await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_forged_or_tampered_pre_session_cookie_is_refused() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = Browser::new();
    let page = b.get(&app.url("/login")).await;
    let csrf = page.hidden("csrf");
    let raw = page
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (name, value) = raw.split_once('=').unwrap();
    assert!(value.starts_with("p1."), "{value}");
    // Flip one character of the signed payload.
    let mut bytes = value.as_bytes().to_vec();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for v in [tampered.as_str(), "p1.e30.AAAA", "p1.", "p1.x.y.z"] {
        let r = app
            .http
            .post(app.url("/login"))
            .header("cookie", format!("{name}={v}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "ada@example.com"),
                ("password", crate::browser::PASSWORD),
                ("r", ""),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            matches!(status, 400 | 403),
            "cookie {v:?} was accepted: {status}"
        );
    }
    assert_eq!(count_and_clear_session_rows(&app).await, 0);
    app.shutdown().await;
}
