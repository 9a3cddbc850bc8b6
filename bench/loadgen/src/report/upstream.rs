//! Issue #19: the extra latency of an upstream sign-in hop, measured. The
//! `authcode` flow (password sign-in at authgate) and the `upstream` flow
//! (the same flow, but the email's domain routes to an upstream OpenID
//! Connect provider, a real node oidc-provider, where the person signs in)
//! take turns in the same rounds against authgate-sqlite.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::{fmt, label, median, num};

pub const SCENARIO: &str = "upstream";
const PASSWORD: &str = "authcode";
const TARGET: &str = "authgate-sqlite";

fn conc(r: &Value) -> usize {
    num(r, &["concurrency"]).unwrap_or(0.0) as usize
}

fn clean(r: &Value) -> bool {
    num(r, &["errors"]) == Some(0.0) && num(r, &["rps"]).is_some_and(|v| v > 0.0)
}

/// CPU milliseconds per completed flow of the process at `who` (`server`:
/// authgate; `upstream`: the node provider).
fn cpu_ms_per_flow(r: &Value, who: &str) -> Option<f64> {
    let flows = num(r, &["requests_ok_in_window"]).filter(|n| *n > 0.0)?;
    Some(num(r, &[who, "cpu_s"])? * 1e3 / flows)
}

/// For each round (run) at `c` in which both flows ran without an error,
/// `f` of (password, upstream).
fn per_round(rows: &[&Value], c: usize, f: impl Fn(&Value, &Value) -> Option<f64>) -> Vec<f64> {
    let mut rounds: BTreeMap<&str, BTreeMap<&str, &Value>> = BTreeMap::new();
    for r in rows.iter().filter(|r| conc(r) == c) {
        rounds
            .entry(label(r, "run"))
            .or_default()
            .insert(label(r, "scenario"), r);
    }
    rounds
        .values()
        .filter_map(|round| {
            let (p, u) = (round.get(PASSWORD)?, round.get(SCENARIO)?);
            (clean(p) && clean(u)).then(|| f(p, u)).flatten()
        })
        .collect()
}

fn added_ms(rows: &[&Value], c: usize, q: &str) -> Option<f64> {
    median(per_round(rows, c, |p, u| {
        Some((num(u, &["latency_us", q])? - num(p, &["latency_us", q])?) / 1000.0)
    }))
}

/// Mean wall time of the sign-in step over every flow of `runs` (warm-up
/// included): the password POST, or the whole upstream hop.
fn sign_in_step_ms<'a>(runs: impl Iterator<Item = &'a Value>) -> Option<f64> {
    let (mut us, mut n) = (0.0, 0.0);
    for r in runs {
        us += num(r, &["authcode", "sign_in_step_us"])?;
        n += num(r, &["authcode", "sign_in_steps"])?;
    }
    (n > 0.0).then(|| us / n / 1000.0)
}

fn signed(x: Option<f64>, places: usize) -> String {
    match x {
        Some(x) => format!("{x:+.places$}"),
        None => "—".to_owned(),
    }
}

pub fn render(out: &mut String, lines: &[Value]) {
    let rows: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            label(l, "target") == TARGET && matches!(label(l, "scenario"), PASSWORD | SCENARIO)
        })
        .collect();
    // Only the concurrency levels the upstream flow ran at (smoke: 1).
    let up_concs: Vec<usize> = rows
        .iter()
        .filter(|r| label(r, "scenario") == SCENARIO)
        .map(|r| conc(r))
        .collect();
    if up_concs.is_empty() {
        return;
    }
    let rows: Vec<&Value> = rows
        .into_iter()
        .filter(|r| up_concs.contains(&conc(r)))
        .collect();
    let _ = writeln!(out, "## Upstream sign-in hop\n");
    let _ = writeln!(
        out,
        "Issue #19: what signing in through an upstream OpenID Connect provider adds to a whole \
         authorization code flow, measured. Both flows run against {TARGET}, taking turns in the same \
         rounds, each on its own keep-alive connection(s) with empty cookie jars, every step checked. \
         `authcode`: the email step answers with the password step, and authgate checks the password \
         (Argon2id). `upstream`: the email's domain belongs to an organization routed to the \
         connection `up`, so the email step answers with a redirect to `/federation/up/start`, which \
         redirects to a real upstream provider (node oidc-provider, `e2e/upstream-oidc/server.mjs`, on \
         loopback, its development pages: login with the login hint authgate sent and any password, \
         then its consent), on a second connection with its own cookie jar; the upstream redirects \
         back to authgate's callback (`state`, `iss` checked), where authgate redeems the upstream's \
         code at its token endpoint, checks the ID token against the upstream's JWKS, calls userinfo \
         and links the person; then consent at authgate (remembered per person after the first Allow, \
         in both flows alike: only the first flows see it), the code and `POST /token`, whose JWT \
         must carry `idp` = `up`. So the difference contains the upstream's own pages (its \
         authorization request, login and consent forms), authgate's calls to its token, JWKS and \
         userinfo endpoints (the discovery document and keys are cached), and the extra redirects; \
         it does not contain authgate's password check, which only the `authcode` flow does. \
         Nor does it contain what a real provider adds on top: oidc-provider's development login \
         takes any password (no password hashing upstream, no MFA), and everything is on loopback, \
         so the round trips to a remote provider (seven browser requests and three back-channel \
         calls per flow here) cost nothing. \
         \"added\" is the median over rounds of upstream − authcode in the same round. The sign-in step \
         is timed inside each flow (warm-up included): for `authcode` the password `POST` (the Argon2id \
         check) alone, for `upstream` everything from `GET /federation/up/start` to authgate's answer \
         to the upstream's callback — the hop itself, without the steps both flows share. CPU per \
         flow is utime+stime over the window divided by the flows completed in it.\n"
    );
    let _ = writeln!(
        out,
        "| flow | conc | flows/s | p50 ms | p99 ms | sign-in step, mean ms | authgate CPU ms/flow | upstream node CPU ms/flow | HTTP requests/flow (authgate + upstream) | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut cells: BTreeMap<(usize, u8), Vec<&Value>> = BTreeMap::new();
    for r in &rows {
        let which = u8::from(label(r, "scenario") == SCENARIO);
        cells.entry((conc(r), which)).or_default().push(r);
    }
    let concs: Vec<usize> = {
        let mut c: Vec<usize> = cells.keys().map(|(c, _)| *c).collect();
        c.dedup();
        c
    };
    for ((c, which), runs) in &cells {
        let m =
            |f: &dyn Fn(&Value) -> Option<f64>| median(runs.iter().filter_map(|r| f(r)).collect());
        let sum =
            |key: &str| -> f64 { runs.iter().filter_map(|r| num(r, &["authcode", key])).sum() };
        let started = sum("flows_started");
        let requests = (started > 0.0).then(|| {
            let ag = sum("http_requests") / started;
            let up = sum("upstream_requests") / started;
            if *which == 1 {
                format!("{ag:.1} + {up:.1}")
            } else {
                format!("{ag:.1}")
            }
        });
        let errors: f64 = runs.iter().filter_map(|r| num(r, &["errors"])).sum();
        let _ = writeln!(
            out,
            "| {} | {c} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
            if *which == 1 {
                "upstream"
            } else {
                "authcode (password)"
            },
            fmt(m(&|r: &Value| num(r, &["rps"])), 1),
            fmt(
                m(&|r: &Value| num(r, &["latency_us", "p50"])).map(|u| u / 1000.0),
                2
            ),
            fmt(
                m(&|r: &Value| num(r, &["latency_us", "p99"])).map(|u| u / 1000.0),
                2
            ),
            fmt(sign_in_step_ms(runs.iter().copied()), 2),
            fmt(m(&|r: &Value| cpu_ms_per_flow(r, "server")), 2),
            if *which == 1 {
                fmt(m(&|r: &Value| cpu_ms_per_flow(r, "upstream")), 2)
            } else {
                "—".to_owned()
            },
            requests.unwrap_or_else(|| "—".to_owned()),
        );
    }
    let _ = writeln!(
        out,
        "\n| conc | rounds | p50 added ms | p99 added ms | sign-in step added, mean ms | authgate CPU ms/flow added | upstream node CPU ms/flow |\n\
         |---:|---:|---:|---:|---:|---:|---:|"
    );
    for c in concs {
        let rounds = per_round(&rows, c, |_, _| Some(0.0)).len();
        let cpu_added = median(per_round(&rows, c, |p, u| {
            Some(cpu_ms_per_flow(u, "server")? - cpu_ms_per_flow(p, "server")?)
        }));
        let node = median(per_round(&rows, c, |_, u| cpu_ms_per_flow(u, "upstream")));
        let step_added = median(per_round(&rows, c, |p, u| {
            Some(sign_in_step_ms(std::iter::once(u))? - sign_in_step_ms(std::iter::once(p))?)
        }));
        let _ = writeln!(
            out,
            "| {c} | {rounds} | {} | {} | {} | {} | {} |",
            signed(added_ms(&rows, c, "p50"), 2),
            signed(added_ms(&rows, c, "p99"), 2),
            signed(step_added, 2),
            signed(cpu_added, 2),
            fmt(node, 2),
        );
    }
    let sum = |key: &str| -> f64 {
        rows.iter()
            .filter(|r| label(r, "scenario") == SCENARIO)
            .filter_map(|r| num(r, &["authcode", key]))
            .sum()
    };
    let _ = writeln!(
        out,
        "\nUpstream flows over every run: {:.0} completed of {:.0} started (warm-up included), {:.0} \
         sign-ins at the upstream, {:.0} consent pages at authgate. A negative \"authgate CPU added\" is \
         the password check the upstream flow does not do. No target: measured, not asserted.\n",
        sum("flows_ok"),
        sum("flows_started"),
        sum("upstream_sign_ins"),
        sum("consent_pages"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(scenario: &str, c: usize, run: &str, p50_us: f64, cpu_s: f64) -> Value {
        json!({
            "scenario": scenario, "target": TARGET, "run": run, "concurrency": c,
            "errors": 0, "rps": 50.0, "requests_ok_in_window": 100,
            "latency_us": {"p50": p50_us, "p99": p50_us * 2.0},
            "server": {"cpu_s": cpu_s},
            "upstream": {"cpu_s": 0.5},
            "authcode": {"flows_started": 110, "flows_ok": 110, "http_requests": 550,
                         "upstream_requests": 770, "upstream_sign_ins": 110, "consent_pages": 1,
                         "sign_in_step_us": 110_000, "sign_in_steps": 110},
        })
    }

    #[test]
    fn differences_are_per_round_and_only_where_upstream_ran() {
        let lines = vec![
            line(PASSWORD, 1, "1", 17_000.0, 1.7),
            line(SCENARIO, 1, "1", 15_000.0, 0.6),
            line(PASSWORD, 1, "2", 20_000.0, 1.7),
            line(SCENARIO, 1, "2", 21_000.0, 0.6),
            // authcode alone at c16 (the upstream flow did not run there).
            line(PASSWORD, 16, "1", 240_000.0, 1.8),
        ];
        let rows: Vec<&Value> = lines.iter().collect();
        // Per round: -2 ms and +1 ms; the median of the two.
        assert_eq!(added_ms(&rows, 1, "p50"), Some(-0.5));
        assert_eq!(cpu_ms_per_flow(&lines[1], "upstream"), Some(5.0));
        let mut out = String::new();
        render(&mut out, &lines);
        assert!(out.contains("## Upstream sign-in hop"), "{out}");
        assert!(out.contains("| 1 | 2 | -0.50 | -1.00 |"), "{out}");
        assert!(!out.contains("| 16 |"), "{out}");
        // No upstream rows: no section.
        let mut none = String::new();
        render(&mut none, &lines[4..]);
        assert!(none.is_empty());
    }
}
