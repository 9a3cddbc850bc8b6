//! The gateway's shared state: one [`Route`] per upstream, the HTTP
//! client, the signer and the audit sink.

use crate::audit::AuditSink;
use crate::config::{ConfigError, ListFilter, Settings, Upstream};
use crate::policy::LivePolicy;
use crate::signer::Signer;
use authgate_resource::{ProtectedResource, Validator};
use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// An upstream as served.
pub struct Route {
    pub up: Upstream,
    pub resource: ProtectedResource,
    pub policy: Arc<LivePolicy>,
    /// `iss` of caller assertions: the public URL's origin.
    pub caller_iss: String,
    /// `host[:port]` of the upstream URL (its `Host` header).
    pub upstream_authority: String,
    /// The path served (public URL path without a trailing slash).
    pub path: String,
    /// Unix seconds of the upstream's last answer (0: never).
    last_answer: AtomicI64,
}

impl Route {
    pub fn mark_answered(&self) {
        self.last_answer.store(now(), Ordering::Relaxed);
    }

    /// Whether the upstream answered within `window`.
    pub fn answered_within(&self, window: Duration) -> bool {
        let last = self.last_answer.load(Ordering::Relaxed);
        last != 0 && now() - last <= i64::try_from(window.as_secs()).unwrap_or(i64::MAX)
    }

    pub fn hides_lists(&self) -> bool {
        self.up.list_filter == ListFilter::Hide
    }
}

type UpstreamClient = Client<HttpConnector, Body>;

/// What the gateway's handlers share. A serving worker
/// (`Gateway::serve_workers`) has its own ([`Shared::for_worker`]): the
/// same routes, signer and audit sink, its own upstream client and cutter.
pub struct Shared {
    pub routes: Vec<Arc<Route>>,
    /// Pools the upstream connections of the runtime that serves with
    /// this `Shared` (a worker's own; on the calling runtime, also the
    /// readiness probes').
    client: UpstreamClient,
    /// Shared by every worker: one assertion cache.
    pub signer: Arc<Signer>,
    pub audit: Arc<dyn AuditSink>,
    pub max_body: usize,
    pub timeout: Duration,
    pub cors: crate::cors::Cors,
    /// Ends the upstream streams after the shutdown grace period.
    pub cutter: crate::cut::Cutter,
}

/// A pooling HTTP/1 client for the upstreams: connect bounded by the
/// upstream timeout, `TCP_NODELAY` (answers are small writes), idle
/// connections closed after a minute.
fn upstream_client(timeout: Duration) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.set_nodelay(true);
    Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build(http)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Paths the gateway serves itself; no upstream may take them.
const RESERVED: &[&str] = &["/healthz", "/readyz", "/metrics"];

impl Shared {
    pub fn new(
        settings: &Settings,
        signer: Signer,
        audit: Arc<dyn AuditSink>,
    ) -> Result<Self, ConfigError> {
        let one = settings.upstreams.len() == 1;
        let mut routes = Vec::with_capacity(settings.upstreams.len());
        for (i, up) in settings.upstreams.iter().enumerate() {
            let key = |f: &str| format!("upstreams[{i}].{f}");
            let path = up.public_url.path().trim_end_matches('/').to_owned();
            if RESERVED.contains(&path.as_str()) || path.starts_with("/.well-known/") {
                return Err(ConfigError::new(
                    key("public_url"),
                    format!("the path {path:?} is the gateway's own"),
                ));
            }
            let mut builder = Validator::builder(&up.issuer, up.public_url.as_str());
            for (scope, implied) in &up.scope_implies {
                builder = builder.scope_implies(scope.clone(), implied.clone());
            }
            let validator = builder
                .build()
                .map_err(|e| ConfigError::new(key("public_url"), e.to_string()))?;
            let resource = ProtectedResource::builder(validator)
                .scopes_supported(up.scopes_supported.clone())
                .baseline_scopes(up.baseline_scopes.clone())
                .resource_name(up.name.clone())
                // The root form names one resource: only when there is one.
                .metadata_at_root(one)
                .build()
                .map_err(|e| ConfigError::new(key("public_url"), e.to_string()))?;
            let origin = up.public_url.origin().ascii_serialization();
            let authority = match (up.upstream_url.host_str(), up.upstream_url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => {
                    return Err(ConfigError::new(key("upstream_url"), "has no host"));
                }
            };
            routes.push(Arc::new(Route {
                up: up.clone(),
                resource,
                policy: Arc::new(LivePolicy::new(up.policy.clone())),
                caller_iss: origin,
                upstream_authority: authority,
                path,
                last_answer: AtomicI64::new(0),
            }));
        }
        Ok(Self {
            routes,
            client: upstream_client(settings.upstream_timeout),
            signer: Arc::new(signer),
            audit,
            max_body: settings.max_body_bytes,
            timeout: settings.upstream_timeout,
            cors: crate::cors::Cors::new(&settings.cors_allowed_origins),
            cutter: crate::cut::Cutter::default(),
        })
    }

    /// This gateway for one serving worker: the same routes, signer (and
    /// its assertion cache) and audit sink, with an upstream client of its
    /// own, whose pooled connections then live on the worker's runtime (a
    /// call's tasks never wake another thread), and a cutter of its own
    /// for the streams it serves (each worker cuts its own at shutdown).
    pub fn for_worker(&self) -> Self {
        Self {
            routes: self.routes.clone(),
            client: upstream_client(self.timeout),
            signer: self.signer.clone(),
            audit: self.audit.clone(),
            max_body: self.max_body,
            timeout: self.timeout,
            cors: self.cors.clone(),
            cutter: crate::cut::Cutter::default(),
        }
    }

    /// Sends `req` upstream (the response future owns what it needs).
    pub fn request(
        &self,
        req: axum::http::Request<Body>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        self.client.request(req)
    }

    /// The route serving `path`.
    pub fn route(&self, path: &str) -> Option<&Arc<Route>> {
        let p = path.trim_end_matches('/');
        self.routes.iter().find(|r| r.path == p)
    }
}
