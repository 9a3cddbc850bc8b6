//! Prometheus metrics of a running `authgate serve`: every series has HELP
//! text, the counters known at start are there at zero before any event,
//! and sign-in failures and token issuance move them.

use crate::browser::Browser;
use crate::processes::{cc_token, free_port, spawn, wait_ready, write_config};

async fn scrape(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the series written exactly as `series` (name and labels
/// in the exporter's order).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    })
}

#[tokio::test]
async fn series_are_described_zeroed_at_start_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (port, mport) = (free_port(), free_port());
    let cfg = write_config(dir.path(), port, "sqlite://authgate.db");
    let t = std::fs::read_to_string(&cfg).unwrap().replacen(
        "log_level",
        &format!("metrics_listen = \"127.0.0.1:{mport}\"\nlog_level"),
        1,
    );
    std::fs::write(&cfg, t).unwrap();
    let _p = spawn(dir.path(), &["serve", "--config", cfg.to_str().unwrap()]);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;

    let failure = r#"authgate_sign_ins_total{outcome="failure"}"#;
    let issued = r#"authgate_tokens_issued_total{grant="client_credentials",resource="weather"}"#;
    let m = scrape(mport).await;
    for s in [
        failure,
        r#"authgate_sign_ins_total{outcome="success"}"#,
        r#"authgate_sign_ins_total{outcome="lockout"}"#,
        issued,
        r#"authgate_outbound_fetches_total{kind="client_metadata",outcome="answered"}"#,
        r#"authgate_registrations_total{outcome="created"}"#,
        "authgate_audit_dropped_total",
    ] {
        assert_eq!(value(&m, s), Some(0.0), "{s} at start:\n{m}");
    }
    for name in [
        "authgate_sign_ins_total",
        "authgate_tokens_issued_total",
        "authgate_outbound_fetches_total",
        "authgate_oauth_errors_total",
        "authgate_audit_dropped_total",
    ] {
        assert!(
            m.contains(&format!("# HELP {name} ")),
            "no HELP for {name}:\n{m}"
        );
    }

    // A failed sign-in and a token.
    let b = Browser::new();
    let page = b.get(&format!("{base}/login")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf");
    let p = b
        .post(
            &format!("{base}/login"),
            &[
                ("csrf", csrf.as_str()),
                ("r", ""),
                ("email", "nobody@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    cc_token(&base).await;

    // Pool gauges are sampled every 5 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let m = loop {
        let m = scrape(mport).await;
        if m.contains("authgate_store_pool_connections{") || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(value(&m, failure), Some(1.0), "{m}");
    assert_eq!(value(&m, issued), Some(1.0), "{m}");
    for name in [
        "authgate_http_requests_total",
        "authgate_http_request_duration_seconds",
        "authgate_store_query_seconds",
        "authgate_store_pool_connections",
        "authgate_token_request_seconds",
    ] {
        assert!(
            m.contains(&format!("# HELP {name} ")),
            "no HELP for {name}:\n{m}"
        );
    }
    assert!(
        m.contains(r#"authgate_http_requests_total{route="/token",status="200"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"authgate_store_pool_connections{pool="writer",state="open"}"#),
        "{m}"
    );
    // A path no route serves is counted as `other`, not by its path.
    reqwest::get(format!("{base}/no-such-page-123"))
        .await
        .unwrap();
    let m = scrape(mport).await;
    assert!(m.contains(r#"route="other",status="404""#), "{m}");
    assert!(!m.contains("no-such-page-123"), "{m}");
}
