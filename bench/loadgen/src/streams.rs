//! Idle streams held open: the memory a server (a gateway) spends per open
//! SSE stream. Each stream has its own connection and MCP session: the
//! `initialize` handshake, then the session's `GET` with
//! `Accept: text/event-stream`, answered 200 `text/event-stream` and then
//! left unread. The server's (and the upstream's) VmRSS is read before any
//! stream opens and after all are open and have been held; at the end
//! every stream must still be open. Bounded: a timeout per request and a
//! fixed hold time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::conn::Conn;
use crate::mcp::McpSetup;
use crate::procstat;

pub struct HoldSettings {
    pub streams: usize,
    /// Streams being opened at once.
    pub parallel: usize,
    pub hold: Duration,
    pub timeout: Duration,
    pub server_pid: Option<u32>,
    pub upstream_pid: Option<u32>,
}

struct Held {
    _conn: Conn,
    body: Incoming,
}

async fn open_one(setup: Arc<McpSetup>, timeout: Duration) -> Result<Held, &'static str> {
    let mut conn = Conn::new(setup.endpoint.addr);
    let session = setup.handshake(&mut conn, timeout).await?;
    let response = conn
        .open_stream(setup.stream_request(session.as_ref())?, timeout)
        .await?;
    if response.status().as_u16() != 200 {
        return Err(match response.status().as_u16() {
            401 => "stream_status_401",
            403 => "stream_status_403",
            405 => "stream_status_405",
            409 => "stream_status_409",
            s if s < 500 => "stream_status_4xx_other",
            _ => "stream_status_5xx",
        });
    }
    let sse = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        return Err("stream_not_event_stream");
    }
    Ok(Held {
        _conn: conn,
        body: response.into_body(),
    })
}

/// Whether a held stream is still open: reads what it has sent so far
/// (priming events, pings) without waiting.
async fn still_open(body: &mut Incoming) -> bool {
    for _ in 0..64 {
        match tokio::time::timeout(Duration::from_millis(1), body.frame()).await {
            Err(_) => return true,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return false,
        }
    }
    true
}

fn rss(pid: Option<u32>) -> Option<u64> {
    procstat::status_kib(&pid?.to_string(), "VmRSS")
}

pub async fn hold(setup: Arc<McpSetup>, s: HoldSettings) -> Value {
    let (server0, upstream0) = (rss(s.server_pid), rss(s.upstream_pid));
    let started = Instant::now();
    let mut held: Vec<Held> = Vec::with_capacity(s.streams);
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut launched = 0;
    while launched < s.streams || !tasks.is_empty() {
        while launched < s.streams && tasks.len() < s.parallel.max(1) {
            tasks.spawn(open_one(setup.clone(), s.timeout));
            launched += 1;
        }
        match tasks.join_next().await {
            Some(Ok(Ok(h))) => held.push(h),
            Some(Ok(Err(kind))) => *errors.entry(kind).or_default() += 1,
            Some(Err(_)) => *errors.entry("task_failed").or_default() += 1,
            None => break,
        }
    }
    let open_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(s.hold).await;
    let (server1, upstream1) = (rss(s.server_pid), rss(s.upstream_pid));
    let mut alive = 0;
    for h in &mut held {
        if still_open(&mut h.body).await {
            alive += 1;
        }
    }
    let opened = held.len();
    if alive < opened {
        *errors.entry("stream_closed_while_held").or_default() += (opened - alive) as u64;
    }
    let per_stream = |a: Option<u64>, b: Option<u64>| {
        let (a, b) = (a?, b?);
        (opened > 0).then(|| ((b as f64 - a as f64) / opened as f64 * 10.0).round() / 10.0)
    };
    json!({
        "streams_wanted": s.streams,
        "streams_open": opened,
        "streams_alive_at_end": alive,
        "errors": errors.values().sum::<u64>(),
        "error_kinds": errors,
        "open_s": (open_s * 1000.0).round() / 1000.0,
        "hold_s": s.hold.as_secs_f64(),
        "server": {
            "pid": s.server_pid,
            "rss_before_kib": server0,
            "rss_with_streams_kib": server1,
            "kib_per_stream": per_stream(server0, server1),
        },
        "upstream": {
            "pid": s.upstream_pid,
            "rss_before_kib": upstream0,
            "rss_with_streams_kib": upstream1,
            "kib_per_stream": per_stream(upstream0, upstream1),
        },
    })
}
