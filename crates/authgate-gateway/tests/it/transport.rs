//! Transport fidelity against raw upstreams: streaming, hangs, deaths,
//! body bounds, framing, forwarded headers, shutdown.

use crate::support::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nmcp-session-id: s-42\r\n\r\n";

const NOT_ALLOWED: &[u8] = b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n";

fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

#[tokio::test]
async fn a_long_sse_response_streams_before_the_upstream_finishes() {
    let release = Arc::new(tokio::sync::Notify::new());
    let r2 = release.clone();
    let url = raw_upstream(move |mut s| {
        let release = r2.clone();
        async move {
            // Only the proxied POST streams (not the gateway's GET probe,
            // which would otherwise take the release).
            if !read_request(&mut s).await.starts_with("POST") {
                let _ = s.write_all(NOT_ALLOWED).await;
                return;
            }
            s.write_all(SSE_HEAD.as_bytes()).await.unwrap();
            s.write_all(&chunk("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n")).await.unwrap();
            // The rest only once the client has seen the first event.
            release.notified().await;
            for i in 2..=50 {
                let ev = format!("id: {i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progress\":{i}}}}}\n\n");
                s.write_all(&chunk(&ev)).await.unwrap();
            }
            s.write_all(&chunk("id: 51\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n")).await.unwrap();
            s.write_all(b"0\r\n\r\n").await.unwrap();
        }
    })
    .await;
    let h = gateway(url, Opts::default()).await;
    let mut r = h
        .post(
            Some(&h.token(&[READ])),
            &call(1, "get_forecast", json!({"city": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["mcp-session-id"], "s-42");
    let first = tokio::time::timeout(Duration::from_secs(5), r.chunk())
        .await
        .expect("the first event must arrive while the upstream still streams")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("\"progress\":1"));
    release.notify_one();
    let mut rest = Vec::new();
    while let Some(c) = r.chunk().await.unwrap() {
        rest.extend_from_slice(&c);
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(rest.contains("\"progress\":50") && rest.contains("\"result\""));
}

#[tokio::test]
async fn an_upstream_that_hangs_gets_504_within_the_timeout() {
    let url = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(s);
    })
    .await;
    let h = gateway(
        url,
        Opts {
            timeout_ms: 500,
            ..Opts::default()
        },
    )
    .await;
    let started = Instant::now();
    let r = h
        .post(
            Some(&h.token(&[READ])),
            &call(9, "get_forecast", json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["id"], 9);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upstream weather")
    );
    assert_eq!(h.audit.rows()[0].outcome, "upstream_timeout");
}

#[tokio::test]
async fn an_unreachable_upstream_gets_502() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", l.local_addr().unwrap());
    drop(l);
    let h = gateway(url, Opts::default()).await;
    let r = h.post(Some(&h.token(&[READ])), &list(1), &[]).await;
    assert_eq!(r.status(), 502);
    let b: Value = r.json().await.unwrap();
    assert!(b["error"]["message"].as_str().unwrap().contains("weather"));
    // readyz says which upstream is not reachable.
    let r = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["upstreams"][0]["name"], "weather");
    assert_eq!(b["upstreams"][0]["upstream_reachable"], false);
}

#[tokio::test]
async fn an_upstream_that_dies_mid_stream_ends_the_stream() {
    let url = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        s.write_all(SSE_HEAD.as_bytes()).await.unwrap();
        s.write_all(&chunk(
            "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n",
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Dies: no terminating chunk.
        drop(s);
    })
    .await;
    let h = gateway(url, Opts::default()).await;
    let mut r = h.post(Some(&h.token(&[READ])), &list(1), &[]).await;
    assert_eq!(r.status(), 200);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = r.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the client's stream must end, not hang");
}

#[tokio::test]
async fn bodies_over_the_bound_get_413_and_framing_is_unambiguous() {
    let url = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
            .await;
    })
    .await;
    let h = gateway(
        url,
        Opts {
            max_body: 1024,
            ..Opts::default()
        },
    )
    .await;
    let t = h.token(&[READ]);
    let big = call(1, "get_forecast", json!({"city": "x".repeat(4096)}));
    let r = h.post(Some(&t), &big, &[]).await;
    assert_eq!(r.status(), 413);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], -32600);
    // Chunked (no Content-Length) is bounded too.
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /weather/mcp HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {t}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(&chunk(&"x".repeat(2000))).await;
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = vec![0u8; 256];
    let n = s.read(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out[..n]).starts_with("HTTP/1.1 413"));
    // Content-Length together with Transfer-Encoding: refused.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /weather/mcp HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {t}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let n = s.read(&mut out).await.unwrap();
    let status = String::from_utf8_lossy(&out[..n]).to_string();
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
}

#[tokio::test]
async fn session_and_resumption_headers_pass_and_hop_by_hop_ones_do_not() {
    let heads = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let h2 = heads.clone();
    let url = raw_upstream(move |mut s| {
        let heads = h2.clone();
        async move {
            let head = read_request(&mut s).await;
            heads.lock().unwrap().push(head.to_ascii_lowercase());
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nmcp-session-id: s-1\r\nconnection: close, x-hop\r\nx-hop: 1\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    })
    .await;
    let h = gateway(url, Opts::default()).await;
    let r = h
        .http
        .get(&h.url)
        .bearer_auth(h.token(&[READ]))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", "s-1")
        .header("last-event-id", "41")
        .header("mcp-protocol-version", LEGACY)
        .header("connection", "x-private")
        .header("x-private", "secret")
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["mcp-session-id"], "s-1");
    assert!(r.headers().get("x-hop").is_none());
    // (The gateway's readiness probe carries no assertion.)
    let head = heads
        .lock()
        .unwrap()
        .iter()
        .find(|h| h.contains("authgate-caller"))
        .cloned()
        .unwrap();
    assert!(head.starts_with("get /mcp http/1.1"), "{head}");
    for want in [
        "mcp-session-id: s-1",
        "last-event-id: 41",
        "mcp-protocol-version: 2025-06-18",
        "authgate-caller: ",
    ] {
        assert!(head.contains(want), "{want} missing from {head}");
    }
    for never in ["authorization", "x-private", "cookie"] {
        assert!(!head.contains(never), "{never} forwarded: {head}");
    }
}

#[tokio::test]
async fn shutdown_lets_a_stream_drain_within_the_grace_period_then_cuts_it() {
    shutdown_drains_then_cuts(1).await;
}

#[tokio::test]
async fn on_worker_threads_shutdown_drains_then_cuts_too() {
    shutdown_drains_then_cuts(2).await;
}

async fn shutdown_drains_then_cuts(workers: usize) {
    let url = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        s.write_all(SSE_HEAD.as_bytes()).await.unwrap();
        s.write_all(&chunk("data: {}\n\n")).await.unwrap();
        // Keeps the stream open far longer than the grace period.
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let mut h = gateway(
        url,
        Opts {
            workers,
            ..Opts::default()
        },
    )
    .await;
    let mut r = h.post(Some(&h.token(&[READ])), &list(1), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.chunk().await.unwrap().is_some());
    let started = Instant::now();
    h.signal_stop();
    // While the stream drains, nobody accepts: new connections are
    // refused at once (not queued behind the drain), so clients and load
    // balancers go elsewhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "a connection was accepted into the backlog during the drain"
    );
    h.stop().await.unwrap();
    // Grace is 2 s in the harness: the stop neither hangs nor cuts at once.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // The stream is cut then, not when the upstream (60 s) or the process
    // ends: the client sees its end at once.
    let end = tokio::time::timeout(Duration::from_secs(2), r.chunk()).await;
    assert!(
        matches!(end, Ok(Err(_)) | Ok(Ok(None))),
        "the stream is still open after the grace period: {end:?}"
    );
    // New connections are refused.
    assert!(
        h.http
            .get(format!("{}/healthz", h.base))
            .send()
            .await
            .is_err()
    );
}

/// `authgate gateway` serves on a thread per core: calls on many
/// connections at once all get their own answer, with the caller's
/// identity, whichever worker accepted them.
#[tokio::test]
async fn worker_threads_answer_every_connection() {
    let h = weather(Opts {
        workers: 3,
        ..Opts::default()
    })
    .await;
    let token = h.token(&[READ]);
    let calls = (0..24).map(|i| {
        let (url, token) = (h.url.clone(), token.clone());
        async move {
            // A client of its own: its own connection to the gateway.
            let http = reqwest::Client::new();
            let mut answers = Vec::new();
            for j in 0..3 {
                let id = i * 10 + j;
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("accept", "application/json, text/event-stream")
                    .header("content-type", "application/json")
                    .header("mcp-protocol-version", LEGACY)
                    .body(call(id, "whoami", json!({})).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                answers.push((id, messages(r).await));
            }
            answers
        }
    });
    for answers in futures_join_all(calls).await {
        for (id, m) in answers {
            assert_eq!(m[0]["id"], id, "{m:?}");
            assert_eq!(m[0]["result"]["structuredContent"]["client_id"], "client-1");
        }
    }
    assert_eq!(h.seen.lock().unwrap().len(), 72);
}

/// Runs the futures concurrently on the test's runtime.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
