//! Sign-in throttling by the one client-address rule: `X-Forwarded-For`
//! believed only from trusted proxies, IPv6 counted per /64, and locks per
//! account *and* address so an attacker cannot keep a person out.

use crate::browser::*;
use crate::support::*;
use authgate_authority::config::Config;

/// A signed-out browser on the sign-in page; returns its CSRF token.
async fn open_login(app: &TestApp, b: &Browser) -> String {
    let p = b.get(&app.url("/login")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    p.hidden("csrf")
}

async fn sign_in(app: &TestApp, b: &Browser, email: &str, password: &str) -> Page {
    let csrf = open_login(app, b).await;
    b.post(
        &app.url("/login"),
        &[
            ("csrf", &csrf),
            ("r", ""),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

fn locked(p: &Page) -> bool {
    p.status == 401 && p.body.contains("Too many failed attempts")
}

fn behind_proxy(mut cfg: Config) -> Config {
    cfg.trusted_proxies = vec!["127.0.0.1".into()];
    cfg
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another() {
    let mut cfg = behind_proxy(default_config());
    cfg.login_max_failures_per_address = 3;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    let attacker = Browser::forwarded_for("203.0.113.5");
    for i in 0..3 {
        let p = sign_in(&app, &attacker, &format!("u{i}@example.com"), "guess").await;
        assert_eq!(p.status, 401);
        assert!(!locked(&p), "locked too early at {i}");
    }
    assert!(locked(
        &sign_in(&app, &attacker, "ada@example.com", PASSWORD).await
    ));
    // Someone else behind the same proxy is not affected.
    let ada = Browser::forwarded_for("198.51.100.7");
    let p = sign_in(&app, &ada, "ada@example.com", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    // The audit log records the same client address the limiter used.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = app.store.list_audit_events(None, None, 100).await.unwrap();
        let address = |name: &str| {
            events
                .iter()
                .find(|e| e.event == name)
                .and_then(|e| e.address.clone())
        };
        if let (Some(failed), Some(ok)) = (address("sign_in.failed"), address("sign_in.succeeded"))
        {
            assert_eq!(failed, "203.0.113.5");
            assert_eq!(ok, "198.51.100.7");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no audit events");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_trusted_proxies() {
    let mut cfg = default_config();
    cfg.login_max_failures_per_address = 3;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    // Changing the header does not escape the limit: the peer is counted.
    for i in 0..3 {
        let b = Browser::forwarded_for(&format!("203.0.113.{i}"));
        sign_in(&app, &b, &format!("u{i}@example.com"), "guess").await;
    }
    let b = Browser::forwarded_for("198.51.100.7");
    assert!(locked(
        &sign_in(&app, &b, "ada@example.com", PASSWORD).await
    ));
    app.shutdown().await;
}

#[tokio::test]
async fn ipv6_addresses_in_one_64_share_a_bucket() {
    let mut cfg = behind_proxy(default_config());
    cfg.login_max_failures_per_address = 3;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    for i in 0..3 {
        let b = Browser::forwarded_for(&format!("2001:db8:1:2::{}", i + 1));
        sign_in(&app, &b, &format!("u{i}@example.com"), "guess").await;
    }
    let same_64 = Browser::forwarded_for("2001:db8:1:2:ffff::9");
    assert!(locked(
        &sign_in(&app, &same_64, "ada@example.com", PASSWORD).await
    ));
    let other_64 = Browser::forwarded_for("2001:db8:1:3::1");
    let p = sign_in(&app, &other_64, "ada@example.com", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    app.shutdown().await;
}

#[tokio::test]
async fn failures_for_an_account_from_one_address_do_not_keep_the_person_out() {
    let app = TestApp::start_with(behind_proxy(default_config()), "").await;
    add_user(&app, "alice@example.com").await;
    let attacker = Browser::forwarded_for("203.0.113.5");
    for _ in 0..6 {
        sign_in(&app, &attacker, "alice@example.com", "guess").await;
    }
    // The attacker's address is locked out of alice's account, even with
    // the right password...
    assert!(locked(
        &sign_in(&app, &attacker, "alice@example.com", PASSWORD).await
    ));
    // ...while alice, from her own address, signs in.
    let alice = Browser::forwarded_for("198.51.100.7");
    let p = sign_in(&app, &alice, "alice@example.com", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    app.shutdown().await;
}

#[tokio::test]
async fn spraying_many_accounts_from_one_address_is_locked() {
    let mut cfg = behind_proxy(default_config());
    cfg.login_max_failures_per_address = 5;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    let sprayer = Browser::forwarded_for("203.0.113.5");
    for i in 0..5 {
        let p = sign_in(&app, &sprayer, &format!("u{i}@example.com"), "Summer2026!").await;
        assert!(!locked(&p), "locked too early at {i}");
    }
    for email in ["u9@example.com", "ada@example.com"] {
        assert!(locked(&sign_in(&app, &sprayer, email, "Summer2026!").await));
    }
    assert!(locked(
        &sign_in(&app, &sprayer, "ada@example.com", PASSWORD).await
    ));
    app.shutdown().await;
}

#[tokio::test]
async fn guessing_one_account_from_many_addresses_is_slowed_down() {
    let mut cfg = behind_proxy(default_config());
    cfg.login_max_failures_per_account = 2;
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "ada@example.com").await;
    // 2 x SLOWDOWN_AFTER failures, each from its own address: no lock.
    let n = 2 * authgate_authority::throttle::SLOWDOWN_AFTER;
    for i in 0..n {
        let b = Browser::forwarded_for(&format!("203.0.113.{i}"));
        let p = sign_in(&app, &b, "ada@example.com", "guess").await;
        assert!(!locked(&p), "locked too early at {i}");
    }
    // From here on attempts are spaced: the next one waits a second, and
    // after it the delay is two (so the attempt right after is refused
    // even if the clock's second ticks in between).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let b = Browser::forwarded_for("203.0.113.200");
    let p = sign_in(&app, &b, "ada@example.com", "guess").await;
    assert!(!locked(&p), "{}", p.body);
    // Now every address, the person's too, must wait a moment...
    let ada = Browser::forwarded_for("198.51.100.7");
    let p = sign_in(&app, &ada, "ada@example.com", PASSWORD).await;
    assert!(locked(&p), "{}", p.body);
    assert!(p.body.contains("second"), "{}", p.body);
    // ...and after it, signs in.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let p = sign_in(&app, &ada, "ada@example.com", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    app.shutdown().await;
}
