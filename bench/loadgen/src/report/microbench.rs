//! The report's micro-benchmark sections: the SDK's token validation, and
//! access-token signing beside what a token costs under load.

use super::{GOAL_TARGET, fmt, fmt_ratio, label, median, num};
use serde_json::Value;
use std::fmt::Write;

/// The SDK's token-validation micro-benchmark, when the run included it.
pub(super) fn render_validation(out: &mut String, meta: &[Value]) {
    let Some(v) = meta.iter().find(|m| label(m, "kind") == "validation") else {
        return;
    };
    let _ = writeln!(
        out,
        "## Token validation in the SDK (authgate-resource, one core)\n\n\
         `cargo bench -p authgate-resource --bench validation -- --quick`: the same ES256 token \
         verified by aws-lc-rs alone (pre-parsed key, pre-decoded signature), by \
         `Validator::validate` with its cache off (split, header, key lookup, base64, signature, \
         claims, checks), and by `Validator::validate` once the token is cached. The first two \
         alternate in batches; their ratio is the median of the per-batch ratios.\n"
    );
    let _ = writeln!(
        out,
        "| path | validations/s | against raw |\n|---|---:|---:|\n\
         | raw aws-lc-rs ES256 verify | {} | 1.00× |\n\
         | SDK, signature path | {} | {} |\n\
         | SDK, cached path | {} | — |\n",
        fmt(num(v, &["raw_per_s"]), 0),
        fmt(num(v, &["signature_per_s"]), 0),
        fmt_ratio(num(v, &["signature_ratio"])),
        fmt(num(v, &["cached_per_s"]), 0),
    );
}

/// Median server CPU per answered request, in µs, of `target` in the
/// client-credentials rounds at `conc`.
fn cpu_us_per_request(lines: &[Value], target: &str, conc: f64) -> Option<f64> {
    median(
        lines
            .iter()
            .filter(|l| label(l, "scenario") == "cc" && label(l, "target") == target)
            .filter(|l| num(l, &["concurrency"]) == Some(conc))
            .filter(|l| num(l, &["errors"]) == Some(0.0))
            .filter_map(|l| num(l, &["server", "rps_per_cpu_s"]))
            .filter(|r| *r > 0.0)
            .collect(),
    )
    .map(|per_cpu_s| 1e6 / per_cpu_s)
}

/// The CPU a client-credentials token costs at c16, split into what HTTP
/// alone costs here (the floor), one `sign_jwt`, and the rest.
pub(super) struct TokenCost {
    pub token_us: Option<f64>,
    pub floor_us: Option<f64>,
    pub sign_us: Option<f64>,
}

impl TokenCost {
    pub fn of(lines: &[Value], meta: &[Value]) -> Self {
        let signing = meta.iter().find(|m| label(m, "kind") == "signing");
        Self {
            token_us: cpu_us_per_request(lines, GOAL_TARGET, 16.0),
            floor_us: cpu_us_per_request(lines, "floor", 16.0),
            sign_us: signing
                .and_then(|s| num(s, &["sign_jwt_per_s"]))
                .filter(|r| *r > 0.0)
                .map(|r| 1e6 / r),
        }
    }

    /// What is left of a token's CPU once HTTP (the floor) and signing are
    /// taken out.
    pub fn rest_us(&self) -> Option<f64> {
        Some(self.token_us? - self.floor_us? - self.sign_us?)
    }
}

/// authgate-core's signing micro-benchmark, and the CPU per token it
/// explains, when the run included it.
pub(super) fn render_signing(out: &mut String, lines: &[Value], meta: &[Value]) {
    let Some(s) = meta.iter().find(|m| label(m, "kind") == "signing") else {
        return;
    };
    let per_s = |key: &str| num(s, &[key]);
    let us = |rate: Option<f64>| rate.filter(|r| *r > 0.0).map(|r| 1e6 / r);
    let _ = writeln!(
        out,
        "## Token signing, and what a token costs (authgate-core, one core)\n\n\
         `cargo bench -p authgate-core --bench signing -- --quick`: one ES256 signature of an \
         access token's signing input through aws-lc-rs's safe API, and authgate's `sign_jwt` \
         making the whole token (claims to JSON, base64url, SHA-256, ECDSA through AWS-LC with \
         nonces prepared 32 at a time, so a 32nd of a batch's preparation included). They \
         alternate in batches; the ratio is the median of the per-batch ratios.\n"
    );
    let _ = writeln!(
        out,
        "| what | per second | µs each | against the safe signature |\n|---|---:|---:|---:|\n\
         | aws-lc-rs safe API, one ES256 signature | {} | {} | 1.00× |\n\
         | `sign_jwt`, the whole access token | {} | {} | {} |\n",
        fmt(per_s("aws_lc_rs_sign_per_s"), 0),
        fmt(us(per_s("aws_lc_rs_sign_per_s")), 1),
        fmt(per_s("sign_jwt_per_s"), 0),
        fmt(us(per_s("sign_jwt_per_s")), 1),
        fmt_ratio(per_s("sign_jwt_ratio")),
    );
    let cost = TokenCost::of(lines, meta);
    if cost.token_us.is_none() {
        return;
    }
    let _ = writeln!(
        out,
        "Client credentials at concurrency 16 in this run, server CPU per answered request \
         (medians over runs; kernel time included):\n\n\
         | | µs |\n|---|---:|\n\
         | {GOAL_TARGET}, one token | {} |\n\
         | floor, one request (HTTP alone, no crypto) | {} |\n\
         | `sign_jwt` (above) | {} |\n\
         | the rest: client authentication, form, audit row, JSON, and HTTP work beyond the floor's | {} |\n\
         | a token at ≥ 0.30× the floor's requests per CPU-s (the goal) | ≤ {} |\n",
        fmt(cost.token_us, 1),
        fmt(cost.floor_us, 1),
        fmt(cost.sign_us, 1),
        fmt(cost.rest_us(), 1),
        fmt(cost.floor_us.map(|f| f / 0.30), 1),
    );
}

#[cfg(test)]
mod tests {
    use super::TokenCost;
    use serde_json::json;

    #[test]
    fn token_cost_is_split_from_this_runs_numbers() {
        let cc = |target: &str, per_cpu: f64, errors: u64| {
            json!({"scenario": "cc", "target": target, "concurrency": 16, "errors": errors,
                   "server": {"rps_per_cpu_s": per_cpu}})
        };
        let lines = vec![
            cc("authgate-sqlite", 20_000.0, 0), // 50 µs
            cc("authgate-sqlite", 25_000.0, 0), // 40 µs
            cc("authgate-sqlite", 1_000.0, 3),  // a round with errors: left out
            cc("floor", 100_000.0, 0),          // 10 µs
        ];
        let meta = vec![json!({"kind": "signing", "sign_jwt_per_s": 50_000.0})]; // 20 µs
        let cost = TokenCost::of(&lines, &meta);
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(near(cost.token_us, 1e6 / 22_500.0));
        assert!(near(cost.floor_us, 10.0));
        assert!(near(cost.sign_us, 20.0));
        assert!(near(cost.rest_us(), 1e6 / 22_500.0 - 30.0));
        // Without the signing benchmark nothing is split.
        assert!(TokenCost::of(&lines, &[]).rest_us().is_none());
    }
}
