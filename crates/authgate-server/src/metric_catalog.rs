//! Every Prometheus series authgate exports, with its HELP text, and the
//! label sets known at start, registered at zero so a scrape right after
//! start already shows them (a rate over a series that appears only at its
//! first event misses that event). docs/metrics.md lists the same series;
//! a test keeps the two in step.

use authgate_authority::outbound::fetch::{
    FETCH_OUTCOMES, KIND_CLIENT_METADATA, KIND_CONNECTION_CHECK, OUTBOUND_FETCHES,
};
use authgate_authority::sign_in::SIGN_INS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
    Gauge,
}

pub struct Series {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

pub const HTTP_REQUESTS: &str = "authgate_http_requests_total";
pub const HTTP_SECONDS: &str = "authgate_http_request_duration_seconds";
pub const TOKENS_ISSUED: &str = "authgate_tokens_issued_total";
pub const TOKEN_SECONDS: &str = "authgate_token_request_seconds";
pub const POOL_CONNECTIONS: &str = "authgate_store_pool_connections";

/// The grants the token endpoint serves (the `grant` label).
pub const GRANTS: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

pub const SERIES: &[Series] = &[
    Series {
        name: SIGN_INS,
        kind: Kind::Counter,
        help: "Password sign-ins by outcome: success, failure (wrong email or password, disabled account), lockout (refused by the sign-in throttle).",
    },
    Series {
        name: HTTP_REQUESTS,
        kind: Kind::Counter,
        help: "HTTP requests by matched route (other: no route matched) and status code.",
    },
    Series {
        name: HTTP_SECONDS,
        kind: Kind::Histogram,
        help: "HTTP request latency in seconds by matched route.",
    },
    Series {
        name: TOKENS_ISSUED,
        kind: Kind::Counter,
        help: "Access tokens issued by grant type and MCP server (resource id).",
    },
    Series {
        name: TOKEN_SECONDS,
        kind: Kind::Histogram,
        help: "Successful token requests' latency in seconds by grant type.",
    },
    Series {
        name: "authgate_oauth_errors_total",
        kind: Kind::Counter,
        help: "OAuth error responses by error code.",
    },
    Series {
        name: "authgate_registrations_total",
        kind: Kind::Counter,
        help: "Dynamic client registrations by outcome: created, deduplicated, refused, rate_limited.",
    },
    Series {
        name: "authgate_cimd_fetches_total",
        kind: Kind::Counter,
        help: "Client ID metadata document lookups by outcome: fetched, cached, failed, invalid, refused_cached.",
    },
    Series {
        name: OUTBOUND_FETCHES,
        kind: Kind::Counter,
        help: "Outbound HTTP fetches by kind (client_metadata: metadata documents and client jwks_uri; connection_check) and outcome.",
    },
    Series {
        name: "authgate_store_query_seconds",
        kind: Kind::Histogram,
        help: "Store query latency in seconds by store module (operation) and statement keyword.",
    },
    Series {
        name: POOL_CONNECTIONS,
        kind: Kind::Gauge,
        help: "Store connection pool use by pool and state (open, idle), sampled every 5 s.",
    },
    Series {
        name: "authgate_audit_dropped_total",
        kind: Kind::Counter,
        help: "Routine audit events dropped because the audit queue was full.",
    },
    Series {
        name: "authgate_audit_security_overflow_total",
        kind: Kind::Counter,
        help: "Security audit events that found the audit queue full and waited for room or were written directly.",
    },
];

/// Gives every series its HELP text. Call once the recorder is installed.
pub fn describe() {
    for s in SERIES {
        match s.kind {
            Kind::Counter => metrics::describe_counter!(s.name, s.help),
            Kind::Histogram => {
                metrics::describe_histogram!(s.name, metrics::Unit::Seconds, s.help)
            }
            Kind::Gauge => metrics::describe_gauge!(s.name, s.help),
        }
    }
}

/// Registers at zero every counter whose label set is known at start;
/// `resources` are the MCP server ids.
pub fn register_zeroes(resources: &[String]) {
    let zero = |c: metrics::Counter| c.increment(0);
    for outcome in ["success", "failure", "lockout"] {
        zero(metrics::counter!(SIGN_INS, "outcome" => outcome));
    }
    for grant in GRANTS {
        for r in resources {
            zero(metrics::counter!(TOKENS_ISSUED, "grant" => *grant, "resource" => r.clone()));
        }
    }
    for outcome in ["created", "deduplicated", "refused", "rate_limited"] {
        zero(metrics::counter!("authgate_registrations_total", "outcome" => outcome));
    }
    for outcome in ["fetched", "cached", "failed", "invalid", "refused_cached"] {
        zero(metrics::counter!("authgate_cimd_fetches_total", "outcome" => outcome));
    }
    for kind in [KIND_CLIENT_METADATA, KIND_CONNECTION_CHECK] {
        for outcome in FETCH_OUTCOMES {
            zero(metrics::counter!(OUTBOUND_FETCHES, "kind" => kind, "outcome" => *outcome));
        }
    }
    for code in [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
    ] {
        zero(metrics::counter!("authgate_oauth_errors_total", "error" => code));
    }
    zero(metrics::counter!("authgate_audit_dropped_total"));
    zero(metrics::counter!("authgate_audit_security_overflow_total"));
}

/// Sets the pool gauges from the store's current use.
pub fn record_pool_usage(store: &dyn authgate_store::Store) {
    for p in store.pool_usage() {
        metrics::gauge!(POOL_CONNECTIONS, "pool" => p.pool, "state" => "open").set(p.size);
        metrics::gauge!(POOL_CONNECTIONS, "pool" => p.pool, "state" => "idle").set(p.idle as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/metrics.md lists every series, and only those.
    #[test]
    fn docs_list_every_series() {
        let docs = include_str!("../../../docs/metrics.md");
        for s in SERIES {
            assert!(
                docs.contains(&format!("`{}`", s.name)),
                "docs/metrics.md does not list {}",
                s.name
            );
        }
        let listed = docs
            .lines()
            .filter_map(|l| l.strip_prefix("| `authgate_"))
            .filter_map(|l| l.split('`').next())
            .map(|n| format!("authgate_{n}"));
        for name in listed {
            assert!(
                SERIES.iter().any(|s| s.name == name),
                "docs/metrics.md lists {name}, which is not in metric_catalog::SERIES"
            );
        }
    }
}
