//! The closed loop: N workers, each with its own connection, send a request,
//! wait for and check the answer, and send the next, until the deadline or
//! the request budget runs out. Latencies of the answers that started after
//! the warm-up and finished before the deadline go into the histogram; the
//! server's CPU and memory are read over exactly that window.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::authcode::AuthCodeStats;
use crate::conn::Conn;
use crate::flows::{Flow, RefreshChain, TokenResponse};
use crate::procstat;
use std::hash::BuildHasher;

pub struct Settings {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_requests: u64,
    pub timeout: Duration,
    pub server_pid: Option<u32>,
    pub db_pid: Option<u32>,
    /// A second process serving the same requests (the MCP server behind a
    /// gateway): its CPU and memory are read like the server's.
    pub upstream_pid: Option<u32>,
}

struct Shared {
    measure_from: Instant,
    deadline: Instant,
    max_requests: u64,
    timeout: Duration,
    issued: AtomicU64,
    stop: AtomicBool,
}

#[derive(Default)]
struct WorkerOut {
    histogram: Option<Histogram<u64>>,
    ok_total: u64,
    ok_measured: u64,
    ok_in_window: u64,
    errors: BTreeMap<&'static str, u64>,
    reconnects: u64,
    refresh: Option<RefreshOut>,
    register_ids: Option<HashSet<String>>,
    authcode: Option<AuthCodeStats>,
}

#[derive(Default)]
struct RefreshOut {
    rotations: u64,
    seen: HashSet<u64>,
    broken: bool,
    final_ok: bool,
    replay: Option<Replay>,
}

#[derive(Clone, Copy, PartialEq)]
enum Replay {
    Refused,
    SameSuccessor,
    Other,
}

fn new_histogram() -> Result<Histogram<u64>, String> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| format!("latency histogram: {e:?}"))
}

async fn worker(
    mut flow: Flow,
    mut conn: Conn,
    shared: Arc<Shared>,
    check_replay: bool,
    mut histogram: Histogram<u64>,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    loop {
        if shared.stop.load(Ordering::Relaxed) || Instant::now() >= shared.deadline {
            break;
        }
        if shared.issued.fetch_add(1, Ordering::Relaxed) >= shared.max_requests {
            shared.stop.store(true, Ordering::Relaxed);
            break;
        }
        let started = Instant::now();
        let outcome = flow.exchange(&mut conn, shared.timeout).await;
        let finished = Instant::now();
        match outcome {
            Ok(()) => {
                out.ok_total += 1;
                // Throughput: answers that ended inside the window (the one
                // the server's CPU is read over), wherever they started.
                if finished >= shared.measure_from && finished <= shared.deadline {
                    out.ok_in_window += 1;
                }
                // Latency: answers wholly inside the window.
                if started >= shared.measure_from && finished <= shared.deadline {
                    out.ok_measured += 1;
                    let micros = finished.duration_since(started).as_micros().max(1) as u64;
                    histogram.saturating_record(micros);
                }
            }
            Err(kind) => {
                *out.errors.entry(kind).or_default() += 1;
                if kind == "connect" {
                    // Nothing listens: do not spin.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        if flow.stopped() {
            *out.errors.entry("refresh_chain_broken").or_default() += 1;
            break;
        }
    }

    match flow {
        Flow::Refresh(chain) => {
            out.refresh =
                Some(finish_chain(chain, &mut conn, &shared, check_replay, &mut out.errors).await)
        }
        Flow::Register(register) => out.register_ids = Some(register.seen),
        Flow::AuthCode(authcode) => out.authcode = Some(authcode.stats),
        _ => {}
    }
    out.reconnects = conn.reconnects;
    out.histogram = Some(histogram);
    out
}

/// After the window: the chain's latest refresh token must still rotate once
/// (no rotation was lost), and its predecessor must be refused (a rotated
/// token cannot be used twice).
async fn finish_chain(
    mut chain: RefreshChain,
    conn: &mut Conn,
    shared: &Shared,
    check_replay: bool,
    errors: &mut BTreeMap<&'static str, u64>,
) -> RefreshOut {
    let mut out = RefreshOut {
        broken: chain.broken,
        ..RefreshOut::default()
    };
    if !chain.broken {
        let sent = match chain.request_for(&chain.current) {
            Ok(request) => conn.send(request, shared.timeout).await,
            Err(kind) => Err(kind),
        };
        match sent {
            Ok(reply) => match TokenResponse::parse(reply.status, &reply.body) {
                Ok(token) => match token.refresh_token {
                    Some(next)
                        if next != chain.current
                            && chain.seen.insert(chain.hasher.hash_one(&next)) =>
                    {
                        chain.previous = Some(std::mem::replace(&mut chain.current, next));
                        chain.rotations += 1;
                        out.final_ok = true;
                    }
                    _ => *errors.entry("final_rotation_bad").or_default() += 1,
                },
                Err(_) => *errors.entry("final_rotation_failed").or_default() += 1,
            },
            Err(kind) => *errors.entry(kind).or_default() += 1,
        }
    }
    if check_replay && let Some(previous) = chain.previous.clone() {
        // The previous token's one legitimate successor is `current`. A server
        // may refuse the replay (invalid_grant) or, within a grace window for
        // parallel refreshes, answer with that same successor; any other
        // refresh token would be a second rotation of one token (a fork).
        let sent = match chain.request_for(&previous) {
            Ok(request) => conn.send(request, shared.timeout).await,
            Err(kind) => Err(kind),
        };
        match sent {
            Ok(reply) => {
                let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
                let error = body.as_ref().and_then(|v| v["error"].as_str());
                let successor = body.as_ref().and_then(|v| v["refresh_token"].as_str());
                out.replay = Some(match (reply.status.as_u16(), error, successor) {
                    (400, Some("invalid_grant"), _) => Replay::Refused,
                    (200, _, Some(token)) if token == chain.current => Replay::SameSuccessor,
                    (200, _, Some(_)) => {
                        *errors.entry("replay_forked_chain").or_default() += 1;
                        Replay::Other
                    }
                    _ => {
                        *errors.entry("replay_unexpected_answer").or_default() += 1;
                        Replay::Other
                    }
                });
            }
            Err(kind) => *errors.entry(kind).or_default() += 1,
        }
    }
    out.rotations = chain.rotations;
    out.seen = std::mem::take(&mut chain.seen);
    out
}

struct Sample {
    server_cpu_s: Option<f64>,
    server_rss_peak_kib: Option<u64>,
    server_hwm_kib: Option<u64>,
    db_cpu_s: Option<f64>,
    upstream_cpu_s: Option<f64>,
    upstream_rss_peak_kib: Option<u64>,
    loadgen_cpu_s: Option<f64>,
    machine_busy_s: Option<f64>,
    window: Duration,
}

/// Reads CPU at the window's edges and samples VmRSS every 50 ms in between.
async fn sample(settings: &Settings, shared: Arc<Shared>) -> Sample {
    tokio::time::sleep_until(shared.measure_from.into()).await;
    let pid = settings.server_pid.map(|p| p.to_string());
    let cpu0 = pid.as_deref().and_then(procstat::cpu_seconds);
    let db0 = settings.db_pid.and_then(procstat::tree_cpu_seconds);
    let up = settings.upstream_pid.map(|p| p.to_string());
    let up0 = up.as_deref().and_then(procstat::cpu_seconds);
    let mut up_peak: Option<u64> = None;
    let self0 = procstat::cpu_seconds("self");
    let machine0 = procstat::machine_busy_seconds();
    let started = Instant::now();
    let mut peak: Option<u64> = None;
    loop {
        if let Some(rss) = pid
            .as_deref()
            .and_then(|p| procstat::status_kib(p, "VmRSS"))
        {
            peak = Some(peak.map_or(rss, |p| p.max(rss)));
        }
        if let Some(rss) = up.as_deref().and_then(|p| procstat::status_kib(p, "VmRSS")) {
            up_peak = Some(up_peak.map_or(rss, |p| p.max(rss)));
        }
        let now = Instant::now();
        if now >= shared.deadline || shared.stop.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep((shared.deadline - now).min(Duration::from_millis(50))).await;
    }
    let window = started.elapsed();
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    Sample {
        server_cpu_s: delta(cpu0, pid.as_deref().and_then(procstat::cpu_seconds)),
        server_rss_peak_kib: peak,
        server_hwm_kib: pid
            .as_deref()
            .and_then(|p| procstat::status_kib(p, "VmHWM")),
        db_cpu_s: delta(db0, settings.db_pid.and_then(procstat::tree_cpu_seconds)),
        upstream_cpu_s: delta(up0, up.as_deref().and_then(procstat::cpu_seconds)),
        upstream_rss_peak_kib: up_peak,
        loadgen_cpu_s: delta(self0, procstat::cpu_seconds("self")),
        machine_busy_s: delta(machine0, procstat::machine_busy_seconds()),
        window,
    }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Runs the load and returns the result line (without the caller's labels).
pub async fn run(
    settings: Settings,
    flows: Vec<(Flow, Conn)>,
    check_replay: bool,
) -> Result<Value, String> {
    // Built once, before any load, so a failure is reported instead of
    // taking a worker down; each worker records into a copy.
    let mut histogram = new_histogram()?;
    let start = Instant::now();
    let shared = Arc::new(Shared {
        measure_from: start + settings.warmup,
        deadline: start + settings.warmup + settings.duration,
        max_requests: settings.max_requests,
        timeout: settings.timeout,
        issued: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut tasks = Vec::with_capacity(flows.len());
    for (flow, conn) in flows {
        tasks.push(tokio::spawn(worker(
            flow,
            conn,
            shared.clone(),
            check_replay,
            histogram.clone(),
        )));
    }
    let sampled = sample(&settings, shared.clone()).await;

    let mut ok_total = 0;
    let mut ok_measured = 0;
    let mut ok_in_window = 0;
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut reconnects = 0;
    let mut chains = Vec::new();
    let mut registered: Vec<HashSet<String>> = Vec::new();
    let mut authcode: Option<AuthCodeStats> = None;
    for task in tasks {
        let out = match task.await {
            Ok(out) => out,
            Err(_) => {
                *errors.entry("worker_panicked").or_default() += 1;
                continue;
            }
        };
        if let Some(h) = &out.histogram {
            let _ = histogram.add(h);
        }
        ok_total += out.ok_total;
        ok_measured += out.ok_measured;
        ok_in_window += out.ok_in_window;
        reconnects += out.reconnects;
        for (kind, n) in out.errors {
            *errors.entry(kind).or_default() += n;
        }
        if let Some(chain) = out.refresh {
            chains.push(chain);
        }
        if let Some(ids) = out.register_ids {
            registered.push(ids);
        }
        if let Some(stats) = &out.authcode {
            authcode.get_or_insert_default().add(stats);
        }
    }

    let window_s = sampled.window.as_secs_f64().max(1e-9);
    // Counting only answers that also started inside the window would
    // undercount by about latency/window: nothing for sub-millisecond
    // requests, half for a 2.5 s authorization code flow in a 5 s window.
    let rps = ok_in_window as f64 / window_s;
    let error_total: u64 = errors.values().sum();
    let lat = |q: f64| {
        if histogram.is_empty() {
            Value::Null
        } else {
            json!(histogram.value_at_quantile(q))
        }
    };
    let server_cpu = sampled.server_cpu_s;
    let mut result = json!({
        "window_s": round(window_s, 3),
        "concurrency": settings.concurrency,
        // Latency samples: answers that started and ended inside the window.
        "requests_ok": ok_measured,
        // Answers that ended inside the window: req/s and req per CPU-s.
        "requests_ok_in_window": ok_in_window,
        "requests_ok_total": ok_total,
        "errors": error_total,
        "error_kinds": errors,
        "reconnects": reconnects,
        "rps": round(rps, 1),
        "latency_us": {
            "p50": lat(0.50), "p90": lat(0.90), "p99": lat(0.99),
            "max": if histogram.is_empty() { Value::Null } else { json!(histogram.max()) },
            "mean": if histogram.is_empty() { Value::Null } else { json!(round(histogram.mean(), 1)) },
        },
        "server": {
            "pid": settings.server_pid,
            "cpu_s": server_cpu.map(|c| round(c, 3)),
            "cpu_util": server_cpu.map(|c| round(c / window_s, 3)),
            // Requests answered per second of server CPU (user + system).
            "rps_per_cpu_s": server_cpu.filter(|c| *c > 0.0).map(|c| round(ok_in_window as f64 / c, 1)),
            "rss_peak_kib": sampled.server_rss_peak_kib,
            "hwm_kib": sampled.server_hwm_kib,
        },
        "loadgen_cpu_s": sampled.loadgen_cpu_s.map(|c| round(c, 3)),
        // All cores' busy time over the window; minus server, database and
        // load generator it is everything else (other processes, and kernel
        // work such as loopback networking not charged to a process).
        "machine_busy_s": sampled.machine_busy_s.map(|c| round(c, 3)),
    });
    if let Some(db_cpu) = sampled.db_cpu_s {
        result["db"] = json!({
            "cpu_s": round(db_cpu, 3),
            "rps_per_server_and_db_cpu_s": server_cpu
                .map(|c| c + db_cpu)
                .filter(|c| *c > 0.0)
                .map(|c| round(ok_in_window as f64 / c, 1)),
        });
    }
    if let Some(up_cpu) = sampled.upstream_cpu_s {
        result["upstream"] = json!({
            "pid": settings.upstream_pid,
            "cpu_s": round(up_cpu, 3),
            "cpu_util": round(up_cpu / window_s, 3),
            "rss_peak_kib": sampled.upstream_rss_peak_kib,
            // Requests per second of the server's and the upstream's CPU together.
            "rps_per_server_and_upstream_cpu_s": server_cpu
                .map(|c| c + up_cpu)
                .filter(|c| *c > 0.0)
                .map(|c| round(ok_in_window as f64 / c, 1)),
        });
    }
    if !chains.is_empty() {
        // A refresh token that shows up in two chains is a duplicated rotation.
        let mut all = HashSet::new();
        let mut across = 0u64;
        for chain in &chains {
            for hash in &chain.seen {
                if !all.insert(*hash) {
                    across += 1;
                }
            }
        }
        if across > 0 {
            result["errors"] = json!(error_total + across);
            result["error_kinds"]["refresh_token_in_two_chains"] = json!(across);
        }
        result["refresh"] = json!({
            "chains": chains.len(),
            "rotations": chains.iter().map(|c| c.rotations).sum::<u64>(),
            "chains_broken": chains.iter().filter(|c| c.broken).count(),
            "final_rotation_ok": chains.iter().filter(|c| c.final_ok).count(),
            "replays_refused": chains.iter().filter(|c| c.replay == Some(Replay::Refused)).count(),
            "replays_same_successor": chains.iter().filter(|c| c.replay == Some(Replay::SameSuccessor)).count(),
        });
    }
    if !registered.is_empty() {
        let mut all = HashSet::new();
        let mut across = 0u64;
        for ids in registered {
            for id in ids {
                if !all.insert(id) {
                    across += 1;
                }
            }
        }
        if across > 0 {
            result["errors"] = json!(result["errors"].as_u64().unwrap_or(0) + across);
            result["error_kinds"]["client_id_duplicate"] = json!(across);
        }
        result["registered_clients"] = json!(all.len());
    }
    if let Some(stats) = authcode {
        // Over all flows of the run, warm-up included.
        result["authcode"] = json!({
            "flows_started": stats.flows_started,
            "flows_ok": stats.flows_ok,
            "http_requests": stats.http_requests,
            "sign_ins": stats.sign_ins,
            "consent_pages": stats.consent_pages,
            "upstream_requests": stats.upstream_requests,
            "upstream_sign_ins": stats.upstream_sign_ins,
            "sign_in_step_us": stats.sign_in_step_us,
            "sign_in_steps": stats.sign_in_steps,
        });
    }
    Ok(result)
}
