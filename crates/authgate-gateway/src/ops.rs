//! Operations endpoints on the gateway's listener: `/healthz`, `/readyz`,
//! `/metrics`, the caller-assertion JWKS; and the background upkeep
//! (upstream probes, JWKS prefetch, policy reloads).

use crate::policy;
use crate::state::{Route, Shared};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An upstream counts as reachable when it answered within this window.
pub const READY_WINDOW: Duration = Duration::from_secs(30);
/// How often upstreams are probed (and missing key sets fetched).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);

pub async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

pub async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    let mut all = true;
    let ups: Vec<_> = s
        .routes
        .iter()
        .map(|r| {
            let reachable = r.answered_within(READY_WINDOW);
            let jwks = r.resource.validator().keys_loaded();
            all &= reachable && jwks;
            json!({"name": r.up.name, "upstream_reachable": reachable, "jwks_loaded": jwks})
        })
        .collect();
    let status = if all {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = if all { "ready" } else { "not_ready" };
    (status, Json(json!({"status": word, "upstreams": ups}))).into_response()
}

pub async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    let mut r = Json(s.signer.jwks()).into_response();
    // Public keys: any page may fetch them.
    crate::cors::public(r.headers_mut());
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. None when
/// another recorder was installed first (in `authgate serve` with
/// `metrics_listen`, whose listener then carries the gateway's metrics).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .ok()?;
            // Histogram samples are folded into summaries only at upkeep:
            // without it an unscraped process would grow without bound.
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        })
        .as_ref()
}

pub async fn metrics_text() -> Response {
    match prometheus() {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are served on authgate's metrics_listen address\n",
        )
            .into_response(),
    }
}

/// Probes `route`'s upstream: any HTTP answer counts as reachable.
async fn probe(s: &Shared, route: &Route) {
    let Ok(uri) = route.up.upstream_url.as_str().parse::<axum::http::Uri>() else {
        return;
    };
    let mut req = axum::http::Request::new(axum::body::Body::empty());
    *req.uri_mut() = uri;
    if let Ok(host) = HeaderValue::from_str(&route.upstream_authority) {
        req.headers_mut().insert(header::HOST, host);
    }
    let timeout = s.timeout.min(Duration::from_secs(3));
    if let Ok(Ok(_resp)) = tokio::time::timeout(timeout, s.request(req)).await {
        // The body is dropped unread: an upstream that opens a stream for
        // this GET sees the connection close.
        route.mark_answered();
    }
}

/// Background upkeep until the returned handles are aborted.
pub fn spawn_background(s: &Arc<Shared>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let probe_state = s.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for r in &probe_state.routes {
                if !r.resource.validator().keys_loaded() {
                    let _ = r.resource.validator().prefetch().await;
                }
                if !r.answered_within(PROBE_INTERVAL) {
                    probe(&probe_state, r).await;
                }
            }
        }
    }));
    for r in &s.routes {
        if let Some(file) = r.up.policy_file.clone() {
            tasks.push(tokio::spawn(policy::watch(
                r.up.name.clone(),
                file,
                r.up.unknown.clone(),
                r.policy.clone(),
                policy::RELOAD_INTERVAL,
            )));
        }
    }
    tasks
}
