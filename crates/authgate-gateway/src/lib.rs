//! `authgate gateway`: a reverse proxy that protects any MCP server
//! (streamable HTTP) — written in TypeScript, Python or anything else —
//! without a line of auth code in it.
//!
//! For each upstream the gateway is the OAuth protected resource
//! (through `authgate-resource`): RFC 9728 metadata, 401/403 challenges,
//! tokens validated against the issuer's JWKS for `aud` = the public URL.
//! It enforces per-tool scopes (reading `Mcp-Method` / `Mcp-Name` and the
//! JSON-RPC body, which must agree), filters `tools/list`, strips the
//! caller's token and tells the upstream who called with a signed
//! `Authgate-Caller` JWT. Streams (SSE, GET) pass through unbuffered.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = authgate_gateway::config::load(Some("gateway.toml".as_ref()), None)?;
//! authgate_gateway::run(settings).await?;
//! # Ok(()) }
//! ```

pub mod audit;
pub mod config;
mod cors;
mod cut;
mod filter;
mod forward;
mod gather;
pub mod jsonrpc;
mod ops;
pub mod policy;
mod proxy;
pub mod signer;
mod state;

pub use audit::{AuditRow, AuditSink, AuditWriter, JsonLines, MemorySink};
pub use config::{ConfigError, GatewayConfig, Settings};
pub use forward::{AUTHGATE_CALLER, AUTHGATE_CLIENT_ID, AUTHGATE_SUB};
pub use signer::{CALLER_TYP, Signer};

use axum::Router;
use axum::routing::get;
use state::Shared;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long connections get to close once their streams are cut.
const CUT_WAIT: Duration = Duration::from_secs(1);

/// A configured gateway, ready to serve.
pub struct Gateway {
    shared: Arc<Shared>,
    shutdown_grace: Duration,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the audit log {path}: {source}")]
    AuditLog {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the gateway stopped: {0}")]
    Serve(std::io::Error),
}

impl Gateway {
    /// Builds the gateway: loads (or generates) the signing key, sets up
    /// one protected resource per upstream. No network access yet.
    pub fn new(settings: &Settings, audit: Arc<dyn AuditSink>) -> Result<Self, ConfigError> {
        let signer = Signer::load_or_generate(&settings.signing_key_file)?;
        Ok(Self {
            shared: Arc::new(Shared::new(settings, signer, audit)?),
            shutdown_grace: settings.shutdown_grace,
        })
    }

    /// The HTTP application: operations endpoints, metadata, and every
    /// upstream's path.
    pub fn router(&self) -> Router {
        router(&self.shared)
    }

    /// Serves on `listener` (on the calling runtime) until `shutdown`
    /// completes; then stops accepting and lets open streams drain for
    /// `shutdown_grace_ms` at most, then cuts the remaining ones (their
    /// connections close).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let tasks = self.start_background();
        let result = serve_on(self.shared.clone(), self.shutdown_grace, listener, shutdown).await;
        for t in tasks {
            t.abort();
        }
        result
    }

    /// Like [`Self::serve`], on `workers` threads, each with a
    /// single-threaded runtime of its own that accepts from `listener` and
    /// keeps every connection it accepted, and the upstream connections
    /// those use, to itself (the way nginx or Envoy run a worker per
    /// core). A proxied call then never wakes another thread: on a
    /// multi-threaded runtime the client's and the upstream's connection
    /// tasks ran on different workers, and the cross-thread wake-ups cost
    /// ~18% of the gateway's CPU per call (`bench/run --scenarios
    /// gateway`). Background work (readiness probes, key prefetch, policy
    /// reloads) stays on the calling runtime; the issuers' JWKS client is
    /// shared by all (a rare refetch may cross threads).
    pub async fn serve_workers(
        self,
        listener: tokio::net::TcpListener,
        workers: usize,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if workers <= 1 {
            return self.serve(listener, shutdown).await;
        }
        let listener = listener.into_std()?;
        // Every clone first: a failure here has started nothing.
        let clones = (0..workers)
            .map(|_| listener.try_clone())
            .collect::<std::io::Result<Vec<_>>>()?;
        // Only the workers' clones may hold the socket: once they stop
        // accepting (axum drops its listener at the shutdown signal), new
        // connections are refused at once, not queued behind a drain.
        drop(listener);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Each worker reports here when it ends, however (a guard sends on
        // drop, so a panic counts too): one that stops stops the others
        // instead of leaving a gateway serving on fewer threads unnoticed.
        let (ended_tx, mut ended) = tokio::sync::mpsc::channel(workers);
        let mut threads = Vec::with_capacity(workers);
        for (i, listener) in clones.into_iter().enumerate() {
            let shared = Arc::new(self.shared.for_worker());
            let grace = self.shutdown_grace;
            let mut stopped = stopped.clone();
            let ended = EndedGuard(ended_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("gateway-worker-{i}"))
                .spawn(move || {
                    let _ended = ended;
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let result = rt.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        let shutdown = async move {
                            let _ = stopped.wait_for(|&s| s).await;
                        };
                        serve_on(shared, grace, listener, shutdown).await
                    });
                    // Bounded: a DNS lookup still running in the worker's
                    // blocking pool does not hold the shutdown.
                    rt.shutdown_timeout(CUT_WAIT);
                    result
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stop.send_replace(true);
                    let _ = join_workers(threads).await;
                    return Err(e);
                }
            }
        }
        drop(ended_tx);
        let tasks = self.start_background();
        tokio::select! {
            () = shutdown => {}
            _ = ended.recv() => tracing::error!("a gateway worker stopped: stopping the gateway"),
        }
        stop.send_replace(true);
        let joined = join_workers(threads).await;
        for t in tasks {
            t.abort();
        }
        joined
    }

    /// What runs once per gateway, beside the serving: the metrics
    /// recorder, a first fetch of every issuer's keys, the readiness
    /// probes and the policy reloads.
    fn start_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let _ = ops::prometheus();
        for r in &self.shared.routes {
            let v = r.resource.validator().clone();
            tokio::spawn(async move {
                let _ = v.prefetch().await;
            });
        }
        ops::spawn_background(&self.shared)
    }
}

/// Tells the gateway a worker ended when dropped: on return or panic.
struct EndedGuard(tokio::sync::mpsc::Sender<()>);

impl Drop for EndedGuard {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

/// Waits (off the runtime) for the worker threads; the first error, or
/// one for a worker that panicked.
async fn join_workers(
    threads: Vec<std::thread::JoinHandle<std::io::Result<()>>>,
) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    Err(std::io::Error::other("a gateway worker thread panicked"))
                })
            })
            .collect::<std::io::Result<Vec<()>>>()
            .map(|_| ())
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Serves `listener` with the gateway's routes until `shutdown`, then
/// drains streams for `grace` and cuts the rest.
async fn serve_on(
    shared: Arc<Shared>,
    grace: Duration,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let fired = Arc::new(tokio::sync::Notify::new());
    let notify = fired.clone();
    let app = router(&shared);
    // Without TCP_NODELAY an answer written in pieces (a streamed SSE
    // answer: priming event, then the message) waits ~40 ms for the
    // client's delayed ACK (bench/run --scenarios gateway showed it).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        notify.notify_one();
    });
    let server = server.into_future();
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r,
        () = async { fired.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("streams still open after the shutdown grace period: closing them");
            shared.cutter.cut();
            // The cut bodies end their connections; a client that does
            // not read is not waited for long.
            tokio::time::timeout(CUT_WAIT, &mut server)
                .await
                .unwrap_or(Ok(()))
        }
    }
}

/// The HTTP application: operations endpoints, metadata, and every
/// upstream's path.
fn router(shared: &Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics_text))
        .route(
            "/.well-known/jwks.json",
            get(ops::jwks).options(cors::public_preflight),
        );
    for r in &shared.routes {
        router = router.merge(r.resource.metadata_router());
    }
    router.fallback(proxy::handle).with_state(shared.clone())
}

/// Runs the gateway on its own (`authgate gateway`) until SIGTERM/SIGINT,
/// audit rows as JSON lines to `audit_log`.
pub async fn run(settings: Settings) -> Result<(), StartError> {
    let (audit, audit_writer) =
        JsonLines::open(&settings.audit_log)
            .await
            .map_err(|e| StartError::AuditLog {
                path: settings.audit_log.clone(),
                source: e,
            })?;
    let gateway = Gateway::new(&settings, audit)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| StartError::Bind {
            addr: settings.listen,
            source: e,
        })?;
    // One worker per core the process may use (cgroup quotas and CPU
    // affinity count): `taskset` or a container's CPU limit sizes it.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    tracing::info!(addr = %settings.listen, upstreams = settings.upstreams.len(), workers, "authgate gateway is listening");
    gateway
        .serve_workers(listener, workers, shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    // Every row queued is written, even while a cut connection's task
    // still holds the sink (bounded: a stuck disk does not hold the exit).
    if !audit_writer.finish(Duration::from_secs(2)).await {
        tracing::warn!("the audit log was not written in 2 s: its last rows may be missing");
    }
    Ok(())
}

/// SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
