//! The gateway scenario: the same trivial MCP tool call sent straight to
//! the MCP server (`direct`, which validates the token itself) and through
//! `authgate gateway` (`gateway`, the gateway validating, the MCP server
//! behind it verifying the gateway's caller assertion) and through nginx as
//! a plain reverse proxy (`nginx`: the cost of a second HTTP hop alone),
//! alternating in the same rounds; the same direct/gateway pair on the MCP
//! servers in other languages (`ts-…`: the official TypeScript SDK, `py-…`:
//! the official Python SDK); and the gateway's memory with idle SSE
//! streams held open.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::{Goal, fmt, label, median, num, rest_of_machine};

pub const SCENARIO: &str = "gateway";
pub const STREAMS_SCENARIO: &str = "gateway-streams";
const DIRECT: &str = "direct";
const GATEWAY: &str = "gateway";
const NGINX: &str = "nginx";

/// One MCP server measured direct and behind the gateway, in the same rounds.
struct Server {
    /// How the report names it.
    name: &'static str,
    direct: &'static str,
    gateway: &'static str,
    /// The CPU goal's row for it.
    cpu_goal: &'static str,
}

const SERVERS: [Server; 3] = [
    Server {
        name: "weather-mcp (Rust)",
        direct: DIRECT,
        gateway: GATEWAY,
        cpu_goal: "gateway: its CPU per call against the MCP server's behind it, c16: weather-mcp (hand-tuned Rust)",
    },
    Server {
        name: "notes-mcp-ts (TypeScript SDK)",
        direct: "ts-direct",
        gateway: "ts-gateway",
        cpu_goal: "gateway: its CPU per call against the MCP server's behind it, c16: notes-mcp-ts (official TypeScript SDK)",
    },
    Server {
        name: "notes-mcp-py (Python SDK)",
        direct: "py-direct",
        gateway: "py-gateway",
        cpu_goal: "gateway: its CPU per call against the MCP server's behind it, c16: notes-mcp-py (official Python SDK)",
    },
];

/// A target whose `server` process is a proxy in front of the MCP server
/// (`upstream`): the gateway or nginx.
fn is_proxied(target: &str) -> bool {
    target == NGINX || SERVERS.iter().any(|s| s.gateway == target)
}

/// Latency goal's concurrency (one call at a time: what the gateway adds
/// to a call, without queueing) and CPU goal's (under load).
const LATENCY_CONC: usize = 1;
const CPU_CONC: usize = 16;

fn conc(r: &Value) -> usize {
    num(r, &["concurrency"]).unwrap_or(0.0) as usize
}

fn clean(r: &Value) -> bool {
    num(r, &["errors"]) == Some(0.0) && num(r, &["rps"]).is_some_and(|v| v > 0.0)
}

/// CPU microseconds per answered call of the process at `who` (`server`
/// or `upstream`).
fn cpu_us_per_call(r: &Value, who: &str) -> Option<f64> {
    let calls = num(r, &["requests_ok_in_window"]).filter(|n| *n > 0.0)?;
    Some(num(r, &[who, "cpu_s"])? * 1e6 / calls)
}

/// Answered calls per second of every serving process's CPU: the MCP
/// server alone (direct), or the gateway and the MCP server behind it.
fn per_cpu_s(r: &Value) -> Option<f64> {
    let calls = num(r, &["requests_ok_in_window"])?;
    let cpu = num(r, &["server", "cpu_s"])? + num(r, &["upstream", "cpu_s"]).unwrap_or(0.0);
    (cpu > 0.0).then(|| calls / cpu)
}

/// For each round (run) at `c` where both of `server`'s targets answered
/// cleanly, `f` of (direct, gateway).
fn per_round(
    rows: &[&Value],
    server: &Server,
    c: usize,
    f: impl Fn(&Value, &Value) -> Option<f64>,
) -> Vec<f64> {
    per_round_of(rows, c, server.direct, server.gateway, f)
}

/// For each round at `c` where targets `a` and `b` answered cleanly, `f`
/// of (a, b).
fn per_round_of(
    rows: &[&Value],
    c: usize,
    a: &str,
    b: &str,
    f: impl Fn(&Value, &Value) -> Option<f64>,
) -> Vec<f64> {
    let mut rounds: BTreeMap<&str, BTreeMap<&str, &Value>> = BTreeMap::new();
    for r in rows.iter().filter(|r| conc(r) == c) {
        rounds
            .entry(label(r, "run"))
            .or_default()
            .insert(label(r, "target"), r);
    }
    rounds
        .values()
        .filter_map(|round| {
            let (x, y) = (round.get(a)?, round.get(b)?);
            (clean(x) && clean(y)).then(|| f(x, y)).flatten()
        })
        .collect()
}

fn added_ms(rows: &[&Value], server: &Server, c: usize, q: &str) -> Option<f64> {
    median(per_round(rows, server, c, |d, g| {
        Some((num(g, &["latency_us", q])? - num(d, &["latency_us", q])?) / 1000.0)
    }))
}

/// The gateway's CPU per call over the MCP server's behind it (same run).
fn gateway_share(rows: &[&Value], server: &Server, c: usize) -> Option<f64> {
    median(per_round(rows, server, c, |_, g| {
        Some(cpu_us_per_call(g, "server")? / cpu_us_per_call(g, "upstream")?)
    }))
}

/// The gateway's CPU per call over the direct MCP server's (same round).
fn gateway_share_of_direct(rows: &[&Value], server: &Server, c: usize) -> Option<f64> {
    median(per_round(rows, server, c, |d, g| {
        Some(cpu_us_per_call(g, "server")? / cpu_us_per_call(d, "server")?)
    }))
}

/// The gateway's CPU per call over nginx's (same round): what the
/// gateway's own work costs on top of a second HTTP hop.
fn gateway_over_nginx(rows: &[&Value], c: usize) -> Option<f64> {
    median(per_round_of(rows, c, NGINX, GATEWAY, |n, g| {
        Some(cpu_us_per_call(g, "server")? / cpu_us_per_call(n, "server")?)
    }))
}

/// nginx's CPU per call over the MCP server's behind it (same run).
fn nginx_share(rows: &[&Value], c: usize) -> Option<f64> {
    median(per_round_of(rows, c, NGINX, NGINX, |n, _| {
        Some(cpu_us_per_call(n, "server")? / cpu_us_per_call(n, "upstream")?)
    }))
}

fn pct(x: Option<f64>) -> String {
    match x {
        Some(x) => format!("{:.0}%", x * 100.0),
        None => "—".to_owned(),
    }
}

fn signed_ms(x: Option<f64>) -> String {
    match x {
        Some(x) => format!("{x:+.3} ms"),
        None => "—".to_owned(),
    }
}

/// The goals of issue #20, judged on this run's rounds.
pub fn goals(lines: &[Value]) -> Vec<Goal> {
    let rows: Vec<&Value> = lines
        .iter()
        .filter(|l| label(l, "scenario") == SCENARIO)
        .collect();
    // The latency goal on the quickest server (weather-mcp): the one where
    // what the gateway adds weighs most.
    let added = added_ms(&rows, &SERVERS[0], LATENCY_CONC, "p50");
    let mut goals = vec![Goal {
        what: "gateway: p50 latency it adds to a trivial tool call, c1 (same rounds)",
        measured: signed_ms(added),
        goal: "≤ 0.2 ms",
        met: added.map(|ms| ms <= 0.2),
    }];
    for server in &SERVERS {
        let share = gateway_share(&rows, server, CPU_CONC);
        goals.push(Goal {
            what: server.cpu_goal,
            measured: pct(share),
            goal: "≤ 25%",
            met: share.map(|x| x <= 0.25),
        });
    }
    goals
}

pub fn render(out: &mut String, lines: &[Value]) {
    let rows: Vec<&Value> = lines
        .iter()
        .filter(|l| label(l, "scenario") == SCENARIO)
        .collect();
    let streams: Vec<&Value> = lines
        .iter()
        .filter(|l| label(l, "scenario") == STREAMS_SCENARIO)
        .collect();
    if rows.is_empty() && streams.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## MCP gateway: a tool call direct, through `authgate gateway` and through nginx\n"
    );
    let _ = writeln!(
        out,
        "The same trivial tool call (`tools/call` of weather-mcp's `whoami`, which echoes the caller: \
         the load generator checks it names the token's client) on the same release-built MCP server. \
         `direct`: the load generator sends the access token to weather-mcp, which validates it itself \
         (authgate-resource: the signature once, then its cache). `gateway`: the same token to \
         `authgate gateway`, which validates it, checks the tool policy and the `Mcp-Method`/`Mcp-Name` \
         headers against the body, signs a caller assertion and forwards the call to a second weather-mcp \
         run with `--behind-gateway`, which verifies that assertion (one ES256 verification per call) \
         instead of a bearer token. `nginx`: the same token through Debian's nginx (one process, \
         upstream keep-alive, no buffering) to a third weather-mcp that validates it itself: a plain \
         reverse proxy doing none of the gateway's work, so its CPU per call is what a second HTTP hop \
         costs on this machine. `ts-direct`/`ts-gateway` and `py-direct`/`py-gateway`: the same pair on \
         the MCP servers in other languages, `examples/notes-mcp-ts` (official TypeScript SDK, \
         stateless streamable HTTP, checking tokens with jose) and `examples/notes-mcp-py` (official \
         Python SDK, `MCPServer` (formerly FastMCP) on uvicorn, checking tokens with PyJWT), calling their trivial read \
         (`list_notes`); the gateway is the same process, one upstream each, and the server behind it \
         verifies the gateway's caller assertion. Each worker shakes hands once (`initialize`) and then \
         calls; every answer is checked (200, the JSON-RPC result for its id, no error, not `isError`, \
         and for weather-mcp the caller). Targets alternate within each round. CPU per call is \
         utime+stime over the window divided by the calls answered in it; \"req per CPU-s\" counts \
         every serving process (direct: the MCP server; behind a proxy: the proxy + the MCP server).\n"
    );
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "| target | conc | req/s | p50 ms | p99 ms | proxy CPU µs/call (gateway or nginx) | MCP server CPU µs/call | req per CPU-s (all serving processes) | gateway peak RSS MiB | errors | loadgen CPU util | rest of machine CPU util |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut cells: BTreeMap<(usize, String), Vec<&Value>> = BTreeMap::new();
        for r in &rows {
            cells
                .entry((conc(r), label(r, "target").to_owned()))
                .or_default()
                .push(r);
        }
        for ((c, target), runs) in &cells {
            let m = |f: &dyn Fn(&Value) -> Option<f64>| {
                median(runs.iter().filter_map(|r| f(r)).collect())
            };
            let is_gateway = is_proxied(target) && target != NGINX;
            let (gw_cpu, mcp_cpu) = if is_proxied(target) {
                (
                    m(&|r: &Value| cpu_us_per_call(r, "server")),
                    m(&|r: &Value| cpu_us_per_call(r, "upstream")),
                )
            } else {
                (None, m(&|r: &Value| cpu_us_per_call(r, "server")))
            };
            let peak = is_gateway
                .then(|| {
                    runs.iter()
                        .filter_map(|r| num(r, &["server", "rss_peak_kib"]))
                        .reduce(f64::max)
                })
                .flatten();
            let errors: f64 = runs.iter().filter_map(|r| num(r, &["errors"])).sum();
            let _ = writeln!(
                out,
                "| {target} | {c} | {} | {} | {} | {} | {} | {} | {} | {errors} | {} | {} |",
                fmt(m(&|r: &Value| num(r, &["rps"])), 0),
                fmt(
                    m(&|r: &Value| num(r, &["latency_us", "p50"])).map(|u| u / 1000.0),
                    3
                ),
                fmt(
                    m(&|r: &Value| num(r, &["latency_us", "p99"])).map(|u| u / 1000.0),
                    3
                ),
                fmt(gw_cpu, 1),
                fmt(mcp_cpu, 1),
                fmt(m(&per_cpu_s), 0),
                fmt(peak.map(|k| k / 1024.0), 1),
                fmt(
                    m(&|r: &Value| Some(num(r, &["loadgen_cpu_s"])? / num(r, &["window_s"])?)),
                    2
                ),
                fmt(m(&|r: &Value| rest_of_machine(r)), 2),
            );
        }
        let _ = writeln!(
            out,
            "\nWhat the gateway adds (median over rounds of the per-round difference or ratio; rounds \
             with an error in either target are left out):\n"
        );
        let _ = writeln!(
            out,
            "| MCP server | conc | p50 added | p99 added | req per CPU-s, gateway+MCP / MCP alone | gateway CPU / MCP server behind it, per call | gateway CPU / direct MCP server, per call | nginx CPU / MCP server behind it, per call | gateway CPU / nginx CPU, per call |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let concs: std::collections::BTreeSet<usize> = rows.iter().map(|r| conc(r)).collect();
        for (i, server) in SERVERS.iter().enumerate() {
            let measured = |t: &str| rows.iter().any(|r| label(r, "target") == t);
            if !measured(server.direct) || !measured(server.gateway) {
                continue;
            }
            for &c in &concs {
                let eff = median(per_round(&rows, server, c, |d, g| {
                    Some(per_cpu_s(g)? / per_cpu_s(d)?)
                }));
                // nginx stands in front of weather-mcp only.
                let (nginx, over_nginx) = if i == 0 {
                    (
                        pct(nginx_share(&rows, c)),
                        super::fmt_ratio(gateway_over_nginx(&rows, c)),
                    )
                } else {
                    ("—".to_owned(), "—".to_owned())
                };
                let _ = writeln!(
                    out,
                    "| {} | {c} | {} | {} | {} | {} | {} | {nginx} | {over_nginx} |",
                    server.name,
                    signed_ms(added_ms(&rows, server, c, "p50")),
                    signed_ms(added_ms(&rows, server, c, "p99")),
                    super::fmt_ratio(eff),
                    pct(gateway_share(&rows, server, c)),
                    pct(gateway_share_of_direct(&rows, server, c)),
                );
            }
        }
        let _ = writeln!(out);
    }
    for s in &streams {
        let open = num(s, &["streams_open"]).unwrap_or(0.0);
        let mib = |path: &[&str]| num(s, path).map(|k| k / 1024.0);
        let _ = writeln!(
            out,
            "**Idle SSE streams through the gateway** (run {}): {open:.0} of {} streams opened in {} s \
             (each its own connection and MCP session: `initialize`, then `GET` with \
             `Accept: text/event-stream` and the token, answered 200 `text/event-stream`), held {} s; \
             {} still open at the end; {} errors.\n",
            label(s, "run"),
            fmt(num(s, &["streams_wanted"]), 0),
            fmt(num(s, &["open_s"]), 1),
            fmt(num(s, &["hold_s"]), 0),
            fmt(num(s, &["streams_alive_at_end"]), 0),
            fmt(num(s, &["errors"]), 0),
        );
        let _ = writeln!(
            out,
            "| process | RSS before (MiB) | RSS with the streams open (MiB) | added (MiB) | KiB per stream |\n|---|---:|---:|---:|---:|"
        );
        for (who, name) in [("server", "gateway"), ("upstream", "weather-mcp behind it")] {
            let (before, with) = (
                mib(&[who, "rss_before_kib"]),
                mib(&[who, "rss_with_streams_kib"]),
            );
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} |",
                fmt(before, 1),
                fmt(with, 1),
                fmt(with.zip(before).map(|(w, b)| w - b), 1),
                fmt(num(s, &[who, "kib_per_stream"]), 1),
            );
        }
        if let Some(kinds) = s.get("error_kinds").and_then(Value::as_object)
            && !kinds.is_empty()
        {
            let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            let _ = writeln!(out, "\nErrors by kind: {}.", list.join(", "));
        }
        let _ = writeln!(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(
        target: &str,
        run: &str,
        c: u64,
        p50: f64,
        server_cpu: f64,
        up_cpu: Option<f64>,
    ) -> Value {
        let mut l = json!({"scenario": "gateway", "target": target, "run": run, "concurrency": c,
            "rps": 1000.0, "errors": 0, "requests_ok_in_window": 10000,
            "latency_us": {"p50": p50, "p99": p50 * 3.0},
            "server": {"cpu_s": server_cpu}});
        if let Some(u) = up_cpu {
            l["upstream"] = json!({"cpu_s": u});
        }
        l
    }

    #[test]
    fn goals_use_same_round_differences_and_the_upstreams_cpu() {
        let mut lines = Vec::new();
        for (run, extra) in [("1", 150.0), ("2", 250.0), ("3", 180.0)] {
            lines.push(line("direct", run, 1, 400.0, 0.5, None));
            lines.push(line("gateway", run, 1, 400.0 + extra, 0.2, Some(0.4)));
            // At c16: gateway 10 µs a call, the MCP server behind it 50 µs.
            lines.push(line("direct", run, 16, 900.0, 0.6, None));
            lines.push(line("gateway", run, 16, 1100.0, 0.1, Some(0.5)));
        }
        // The TypeScript server at c16: gateway 10 µs a call, the server
        // behind it 25 µs (over the goal); no Python rows (not measured).
        for run in ["1", "2", "3"] {
            lines.push(line("ts-direct", run, 16, 900.0, 0.6, None));
            lines.push(line("ts-gateway", run, 16, 1100.0, 0.1, Some(0.25)));
        }
        let g = goals(&lines);
        assert_eq!(g[0].measured, "+0.180 ms");
        assert_eq!(g[0].met, Some(true));
        assert_eq!(g[1].measured, "20%");
        assert_eq!(g[1].met, Some(true));
        assert!(g[2].what.contains("TypeScript"), "{}", g[2].what);
        assert_eq!(g[2].measured, "40%");
        assert_eq!(g[2].met, Some(false));
        assert!(g[3].what.contains("Python"), "{}", g[3].what);
        assert_eq!((g[3].measured.as_str(), g[3].met), ("—", None));
        // A round with an error is left out; without rounds, nothing is judged.
        lines[1]["errors"] = json!(2);
        assert_eq!(goals(&lines)[0].measured, "+0.215 ms");
        assert!(goals(&[]).iter().all(|g| g.met.is_none()));
    }

    #[test]
    fn the_report_shows_the_targets_and_the_streams() {
        let mut lines = vec![
            line("direct", "1", 1, 400.0, 0.5, None),
            line("gateway", "1", 1, 600.0, 0.2, Some(0.4)),
            // nginx: 10 µs a call, the MCP server behind it 40 µs.
            line("nginx", "1", 1, 500.0, 0.1, Some(0.4)),
            // The Python server: 200 µs a call direct; behind the gateway
            // 150 µs, the gateway 30 µs.
            line("py-direct", "1", 1, 2000.0, 2.0, None),
            line("py-gateway", "1", 1, 2300.0, 0.3, Some(1.5)),
        ];
        lines.push(json!({"scenario": "gateway-streams", "run": "1", "streams_wanted": 1000,
            "streams_open": 1000, "streams_alive_at_end": 1000, "errors": 0, "open_s": 2.5, "hold_s": 3,
            "server": {"rss_before_kib": 10240, "rss_with_streams_kib": 30720, "kib_per_stream": 20.5},
            "upstream": {"rss_before_kib": 20480, "rss_with_streams_kib": 61440, "kib_per_stream": 41.0}}));
        let mut out = String::new();
        render(&mut out, &lines);
        assert!(
            out.contains("| direct | 1 | 1000 | 0.400 | 1.200 | — | 50.0 | 20000 |"),
            "{out}"
        );
        assert!(
            out.contains("| gateway | 1 | 1000 | 0.600 | 1.800 | 20.0 | 40.0 | 16667 |"),
            "{out}"
        );
        assert!(
            out.contains("| nginx | 1 | 1000 | 0.500 | 1.500 | 10.0 | 40.0 | 20000 |"),
            "{out}"
        );
        assert!(
            out.contains("| weather-mcp (Rust) | 1 | +0.200 ms | +0.600 ms | 0.83× | 50% | 40% | 25% | 2.00× |"),
            "{out}"
        );
        assert!(
            out.contains("| py-gateway | 1 | 1000 | 2.300 | 6.900 | 30.0 | 150.0 | 5556 | "),
            "{out}"
        );
        assert!(
            out.contains("| notes-mcp-py (Python SDK) | 1 | +0.300 ms | +0.900 ms | 1.11× | 20% | 15% | — | — |"),
            "{out}"
        );
        // The TypeScript server was not measured: no row for it.
        assert!(!out.contains("notes-mcp-ts (TypeScript SDK) |"), "{out}");
        assert!(
            out.contains("| gateway | 10.0 | 30.0 | 20.0 | 20.5 |"),
            "{out}"
        );
    }
}
