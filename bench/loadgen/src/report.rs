//! The markdown report: medians over runs per (scenario, target,
//! concurrency), and authgate's ratios to the peer and to the floor computed
//! run by run (each from the same round) before taking the median.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

const SCENARIOS: &[(&str, &str)] = &[
    (
        "cc",
        "Client credentials (POST /token, client_secret_basic, ES256 JWT for one resource)",
    ),
    (
        "refresh",
        "Refresh-token rotation (POST /token, one chain per worker, every rotation checked)",
    ),
    (
        "register",
        "Dynamic client registration (POST /register, RFC 7591)",
    ),
    ("introspect", "Introspection (POST /introspect, RFC 7662)"),
    ("jwks", "JWKS (GET jwks_uri)"),
    (
        "metadata",
        "Metadata (GET /.well-known/oauth-authorization-server)",
    ),
    (
        "authcode",
        "Authorization code flow, whole (one \"request\" = one flow: req/s is flows/s, latency is the whole flow)",
    ),
];

const AUTHCODE_NOTE: &str = "authgate only: the peer and the floor do not run this scenario. Each worker, on its \
own keep-alive connection and with an empty cookie jar each time, runs the whole flow: `GET /authorize` (fresh \
PKCE S256 verifier and `state`) → 303 to the sign-in page → `GET` it → `POST` the email and password with its \
hidden `csrf` and `r` → 303 to the consent page → `GET` it → `POST decision=allow` → 303 to the client's \
`redirect_uri` with `code`, `state` and `iss` (both checked) → `POST /token` `grant_type=authorization_code` as a \
public client (`client_id` in the body, PKCE, `resource`) → 200 with an ES256 JWT (`aud`, `scope` checked) and a \
refresh token. So every flow signs in, and the sign-in's Argon2id password check (19 MiB, 2 passes; at most \
`password_hash_concurrency` at a time, 1 by default) dominates: flows/s is bounded by it, by design.";

fn read_lines(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}: {l}", path.display())))
        .collect()
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_f64()
}

/// Cores busy over a window with anything but the server, its database and
/// the load generator.
fn rest_of_machine(r: &Value) -> Option<f64> {
    let window = num(r, &["window_s"]).filter(|w| *w > 0.0)?;
    let ours = num(r, &["server", "cpu_s"]).unwrap_or(0.0)
        + num(r, &["db", "cpu_s"]).unwrap_or(0.0)
        + num(r, &["loadgen_cpu_s"]).unwrap_or(0.0);
    Some(((num(r, &["machine_busy_s"])? - ours) / window).max(0.0))
}

fn fmt(x: Option<f64>, places: usize) -> String {
    match x {
        Some(x) => format!("{x:.places$}"),
        None => "—".to_owned(),
    }
}

fn fmt_ratio(x: Option<f64>) -> String {
    match x {
        Some(x) => format!("{x:.2}×"),
        None => "—".to_owned(),
    }
}

fn label<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The order targets are shown in: authgate first, then the peer, then the floor.
fn target_rank(name: &str) -> (u8, String) {
    let rank = if name == "authgate-sqlite" {
        0
    } else if name.starts_with("authgate") {
        1
    } else if name == "peer" {
        2
    } else if name == "floor" {
        3
    } else {
        4
    };
    (rank, name.to_owned())
}

pub fn render(input: &Path, meta: &Path) -> Result<String, String> {
    let lines = read_lines(input)?;
    let meta = read_lines(meta)?;
    let mut out = String::new();
    let fact = |key: &str| -> String {
        meta.iter()
            .find(|m| label(m, "kind") == "fact" && label(m, "key") == key)
            .map(|m| label(m, "value").to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };

    let _ = writeln!(
        out,
        "# authgate benchmark — {} run of {}\n",
        fact("mode"),
        fact("date")
    );
    let _ = writeln!(
        out,
        "Produced by `bash bench/run` (see bench/README.md). Regenerate rather than edit.\n"
    );
    let _ = writeln!(out, "| machine fact | value |\n|---|---|");
    for (key, title) in [
        ("nproc", "nproc"),
        ("cpu_model", "CPU model"),
        ("memory", "memory"),
        ("kernel", "kernel"),
        ("rustc", "rustc"),
        ("node", "node"),
        ("oidc_provider", "oidc-provider (peer)"),
        ("authgate_commit", "authgate commit"),
        ("postgres", "PostgreSQL"),
        ("loadavg_at_start", "load average at start (1/5/15 min)"),
        ("loadavg_at_end", "load average at end"),
    ] {
        let value = fact(key);
        if value != "?" {
            let _ = writeln!(out, "| {title} | {value} |");
        }
    }
    let _ = writeln!(
        out,
        "\nMethod: closed loop, one keep-alive connection per worker, the load generator on the same 2 cores \
         (one thread). Each cell: {} run(s) of {} s warm-up + {} s measured ({} s for register, introspect, \
         JWKS, metadata and authcode); within a round the targets \
         take turns at the same scenario and concurrency. Numbers are medians over runs; ratios are computed \
         per run (same round) and then the median taken. \"req/s\" counts the answers that ended inside the \
         measured window; latencies are those of the answers that started and ended inside it. Server CPU is utime+stime from /proc/<pid>/stat \
         over the measured window (\"CPU util\" 1.00 = one core busy); \"req per CPU-s\" is answered requests \
         per second of server CPU. \"loadgen CPU util\" is the load generator's own share of the same \
         2 cores; \"rest of machine\" is every other busy core-second in the window (other processes, \
         kernel networking). Peak RSS is the highest VmRSS sampled every 50 ms during the window. \
         For PostgreSQL targets the database's own CPU (postmaster and backends) is shown separately.\n",
        fact("runs"),
        fact("warmup_s"),
        fact("duration_s"),
        fact("short_duration_s"),
    );

    let busiest = lines.iter().filter_map(rest_of_machine).reduce(f64::max);
    if let Some(rest) = busiest
        && rest > 0.25
    {
        let _ = writeln!(
            out,
            "**The machine was not quiet during this run**: besides the server, its database and the \
             load generator, up to {rest:.2} of {} cores were busy in some windows (other processes, and \
             kernel work such as loopback networking; see the last column). Absolute req/s and \
             latencies are depressed and noisy; server CPU per request (\"req per CPU-s\") and the \
             per-round ratios hold up better. Rerun on a quiet machine for absolute numbers.\n",
            fact("nproc"),
        );
    }

    // Start-up and idle memory.
    let targets: Vec<&Value> = meta
        .iter()
        .filter(|m| label(m, "kind") == "target")
        .collect();
    if !targets.is_empty() {
        let _ = writeln!(out, "## Start-up and idle memory\n");
        let _ = writeln!(
            out,
            "| target | start → first token (ms) | idle RSS (MiB) | notes |\n|---|---:|---:|---|"
        );
        for t in &targets {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                label(t, "name"),
                fmt(num(t, &["ready_ms"]), 0),
                fmt(num(t, &["idle_rss_kib"]).map(|k| k / 1024.0), 1),
                label(t, "notes"),
            );
        }
        let _ = writeln!(out);
    }

    for (scenario, title) in SCENARIOS {
        let rows: Vec<&Value> = lines
            .iter()
            .filter(|l| label(l, "scenario") == *scenario)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {title}\n");
        if *scenario == "authcode" {
            let _ = writeln!(out, "{AUTHCODE_NOTE}\n");
        }
        // What one counted "request" is: one answer, or one whole flow.
        let unit = if *scenario == "authcode" {
            "flows"
        } else {
            "req"
        };
        let has_db = rows.iter().any(|r| r.get("db").is_some());
        let _ = write!(
            out,
            "| target | conc | {unit}/s | p50 ms | p99 ms | server CPU util | {unit} per CPU-s | peak RSS MiB | errors | loadgen CPU util | rest of machine CPU util |"
        );
        let _ = writeln!(
            out,
            "{}",
            if has_db {
                format!(" DB CPU util | {unit} per (server+DB) CPU-s |")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{}",
            if has_db { "---:|---:|" } else { "" }
        );

        let mut cells: BTreeMap<(usize, (u8, String)), Vec<&Value>> = BTreeMap::new();
        for r in &rows {
            let conc = num(r, &["concurrency"]).unwrap_or(0.0) as usize;
            cells
                .entry((conc, target_rank(label(r, "target"))))
                .or_default()
                .push(r);
        }
        let mut error_notes: Vec<String> = Vec::new();
        for ((conc, (_, target)), runs) in &cells {
            let m = |path: &[&str]| median(runs.iter().filter_map(|r| num(r, path)).collect());
            let errors: f64 = runs.iter().filter_map(|r| num(r, &["errors"])).sum();
            let mut kinds: BTreeMap<String, (f64, usize)> = BTreeMap::new();
            for r in runs {
                if let Some(found) = r.get("error_kinds").and_then(Value::as_object) {
                    for (kind, n) in found {
                        let entry = kinds.entry(kind.clone()).or_default();
                        entry.0 += n.as_f64().unwrap_or(0.0);
                        entry.1 += 1;
                    }
                }
            }
            for (kind, (n, in_runs)) in kinds {
                error_notes.push(format!(
                    "{target} c={conc}: {kind} ×{n:.0} (in {in_runs} of {} runs)",
                    runs.len()
                ));
            }
            let peak = runs
                .iter()
                .filter_map(|r| num(r, &["server", "rss_peak_kib"]))
                .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
            let window = m(&["window_s"]);
            let rest_util = median(runs.iter().filter_map(|r| rest_of_machine(r)).collect());
            let loadgen_util = median(
                runs.iter()
                    .filter_map(|r| Some(num(r, &["loadgen_cpu_s"])? / num(r, &["window_s"])?))
                    .collect(),
            );
            let _ = write!(
                out,
                "| {target} | {conc} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                fmt(m(&["rps"]), 0),
                fmt(m(&["latency_us", "p50"]).map(|u| u / 1000.0), 2),
                fmt(m(&["latency_us", "p99"]).map(|u| u / 1000.0), 2),
                fmt(m(&["server", "cpu_util"]), 2),
                fmt(m(&["server", "rps_per_cpu_s"]), 0),
                fmt(peak.map(|k| k / 1024.0), 1),
                errors,
                fmt(loadgen_util, 2),
                fmt(rest_util, 2),
            );
            if has_db {
                let db_util = match (m(&["db", "cpu_s"]), window) {
                    (Some(c), Some(w)) if w > 0.0 => Some(c / w),
                    _ => None,
                };
                let _ = write!(
                    out,
                    " {} | {} |",
                    fmt(db_util, 2),
                    fmt(m(&["db", "rps_per_server_and_db_cpu_s"]), 0)
                );
            }
            let _ = writeln!(out);
        }
        if rows.iter().any(|r| r.get("refresh").is_some()) {
            let sum =
                |key: &str| -> f64 { rows.iter().filter_map(|r| num(r, &["refresh", key])).sum() };
            let _ = writeln!(
                out,
                "\nRotations checked: {:.0} over {:.0} chains; chains broken: {:.0}; final extra rotation \
                 succeeded on {:.0}. Each chain's previous token was then replayed: {:.0} refused with \
                 invalid_grant, {:.0} answered with the same successor (grace window for parallel \
                 refreshes); any other answer is counted as an error.",
                sum("rotations"),
                sum("chains"),
                sum("chains_broken"),
                sum("final_rotation_ok"),
                sum("replays_refused"),
                sum("replays_same_successor"),
            );
        }
        if rows.iter().any(|r| r.get("authcode").is_some()) {
            let sum =
                |key: &str| -> f64 { rows.iter().filter_map(|r| num(r, &["authcode", key])).sum() };
            let started = sum("flows_started");
            let _ = writeln!(
                out,
                "\nOver every run above: flows completed {:.0} of {:.0} started (warm-up included), {} HTTP requests per flow; \
                 {:.0} sign-ins (one Argon2id check each); the consent page was shown and allowed {:.0} times.",
                sum("flows_ok"),
                started,
                fmt((started > 0.0).then(|| sum("http_requests") / started), 1),
                sum("sign_ins"),
                sum("consent_pages"),
            );
        }
        if !error_notes.is_empty() {
            let _ = writeln!(out, "\nErrors by kind: {}.", error_notes.join("; "));
        }
        let _ = writeln!(out);
        ratios(&mut out, &rows);
    }

    let notes: Vec<&str> = meta
        .iter()
        .filter(|m| label(m, "kind") == "note")
        .map(|m| label(m, "text"))
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    Ok(out)
}

/// authgate vs peer and vs floor, per run, then the median.
fn ratios(out: &mut String, rows: &[&Value]) {
    let mut by_round: BTreeMap<(usize, String), BTreeMap<String, &Value>> = BTreeMap::new();
    for r in rows {
        let conc = num(r, &["concurrency"]).unwrap_or(0.0) as usize;
        by_round
            .entry((conc, label(r, "run").to_owned()))
            .or_default()
            .insert(label(r, "target").to_owned(), r);
    }
    let authgates: BTreeSet<String> = rows
        .iter()
        .map(|r| label(r, "target").to_owned())
        .filter(|t| t.starts_with("authgate"))
        .collect();
    let others: Vec<&str> = ["peer", "floor"]
        .into_iter()
        .filter(|o| rows.iter().any(|r| label(r, "target") == *o))
        .collect();
    if authgates.is_empty() || others.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Ratios (median over runs of the per-run ratio; >1 means authgate has more of it):\n"
    );
    let _ = writeln!(
        out,
        "| pair | conc | req/s | req per CPU-s | p99 latency |\n|---|---:|---:|---:|---:|"
    );
    let concs: BTreeSet<usize> = by_round.keys().map(|(c, _)| *c).collect();
    for a in &authgates {
        for o in &others {
            for conc in &concs {
                let mut rps = Vec::new();
                let mut eff = Vec::new();
                let mut p99 = Vec::new();
                for ((c, _), round) in &by_round {
                    if c != conc {
                        continue;
                    }
                    let (Some(x), Some(y)) = (round.get(a.as_str()), round.get(*o)) else {
                        continue;
                    };
                    // Only rounds in which both answered, without errors.
                    let clean = |r: &Value| {
                        num(r, &["errors"]) == Some(0.0)
                            && num(r, &["rps"]).is_some_and(|v| v > 0.0)
                    };
                    if !clean(x) || !clean(y) {
                        continue;
                    }
                    let ratio = |path: &[&str]| match (num(x, path), num(y, path)) {
                        (Some(p), Some(q)) if q > 0.0 => Some(p / q),
                        _ => None,
                    };
                    rps.extend(ratio(&["rps"]));
                    eff.extend(ratio(&["server", "rps_per_cpu_s"]));
                    p99.extend(ratio(&["latency_us", "p99"]));
                }
                if rps.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {a} / {o} | {conc} | {} | {} | {} |",
                    fmt_ratio(median(rps)),
                    fmt_ratio(median(eff)),
                    fmt_ratio(median(p99)),
                );
            }
        }
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![f64::NAN, 1.0]), Some(1.0));
    }
}
