//! Slow and idle clients cannot hold the listener (issue #17, defect 5):
//! half-sent headers, a trickled body and idle keep-alive connections are
//! cut within the configured timeouts, and connections beyond
//! `http.max_connections` are not served until a slot frees.

use crate::support::{TestApp, default_config};
use authgate_server::listener::HttpConfig;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limits(http: HttpConfig) -> authgate_authority::config::Config {
    authgate_authority::config::Config {
        http,
        ..default_config()
    }
}

fn host_port(app: &TestApp) -> String {
    app.origin().trim_start_matches("http://").to_string()
}

/// Reads until the peer closes (or `limit` passes); returns what was read
/// and whether the peer closed.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
        }
    }
}

#[tokio::test]
async fn half_sent_headers_are_cut_after_the_header_read_timeout() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            header_read_timeout_ms: 300,
            ..HttpConfig::default()
        }),
        "",
    )
    .await;
    let mut s = TcpStream::connect(host_port(&app)).await.unwrap();
    let started = Instant::now();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed, "a connection with half-sent headers stayed open");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "closed too late: {took:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_cut_after_the_header_read_timeout() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            header_read_timeout_ms: 300,
            ..HttpConfig::default()
        }),
        "",
    )
    .await;
    let mut s = TcpStream::connect(host_port(&app)).await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed, "a connection that sent nothing stayed open");
    assert!(started.elapsed() < Duration::from_secs(3));
    app.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            header_read_timeout_ms: 60_000,
            idle_timeout_secs: 1,
            ..HttpConfig::default()
        }),
        "",
    )
    .await;
    let mut s = TcpStream::connect(host_port(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, then the kept-alive connection idles and is closed.
    let started = Instant::now();
    let (text, closed) = read_until_closed(&mut s, Duration::from_secs(6)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(4));
    app.shutdown().await;
}

#[tokio::test]
async fn a_trickled_token_body_gets_408_within_the_request_timeout() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            request_timeout_ms: 500,
            ..HttpConfig::default()
        }),
        "",
    )
    .await;
    let mut s = TcpStream::connect(host_port(&app)).await.unwrap();
    let body = b"grant_type=client_credentials&scope=weather%3Aread";
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // A byte every 200 ms: the whole body would take 10 s.
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        for b in body {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), rd.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    writer.abort();
    app.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_slot() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            max_connections: 1,
            header_read_timeout_ms: 1_500,
            ..HttpConfig::default()
        }),
        "",
    )
    .await;
    // The one slot is taken by a connection that sends nothing.
    let hog = TcpStream::connect(host_port(&app)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut s = TcpStream::connect(host_port(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), s.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond max_connections: {early:?}");
    // Once the hog is cut by the header timeout the waiting one is served.
    let (text, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(hog);
    app.shutdown().await;
}

#[tokio::test]
async fn normal_requests_still_work_with_the_limits() {
    let app = TestApp::start_with(
        limits(HttpConfig {
            header_read_timeout_ms: 1_000,
            request_timeout_ms: 2_000,
            idle_timeout_secs: 1,
            max_connections: 4,
        }),
        "",
    )
    .await;
    for _ in 0..10 {
        let r = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let token = app.svc_token("weather:read").await;
    assert!(!token.is_empty());
    app.shutdown().await;
}
