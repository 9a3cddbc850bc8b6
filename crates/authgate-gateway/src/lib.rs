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

pub use audit::{AuditRow, AuditSink, JsonLines, MemorySink};
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
        let mut router = Router::new()
            .route("/healthz", get(ops::healthz))
            .route("/readyz", get(ops::readyz))
            .route("/metrics", get(ops::metrics_text))
            .route(
                "/.well-known/jwks.json",
                get(ops::jwks).options(cors::public_preflight),
            );
        for r in &self.shared.routes {
            router = router.merge(r.resource.metadata_router());
        }
        router
            .fallback(proxy::handle)
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` completes; then stops
    /// accepting and lets open streams drain for `shutdown_grace_ms` at
    /// most, then cuts the remaining ones (their connections close).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _ = ops::prometheus();
        for r in &self.shared.routes {
            let v = r.resource.validator().clone();
            tokio::spawn(async move {
                let _ = v.prefetch().await;
            });
        }
        let tasks = ops::spawn_background(&self.shared);
        let fired = Arc::new(tokio::sync::Notify::new());
        let notify = fired.clone();
        let app = self.router();
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
        let grace = self.shutdown_grace;
        let server = server.into_future();
        tokio::pin!(server);
        let result = tokio::select! {
            r = &mut server => r,
            () = async { fired.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("streams still open after the shutdown grace period: closing them");
                self.shared.cutter.cut();
                // The cut bodies end their connections; a client that does
                // not read is not waited for long.
                tokio::time::timeout(CUT_WAIT, &mut server)
                    .await
                    .unwrap_or(Ok(()))
            }
        };
        for t in tasks {
            t.abort();
        }
        result
    }
}

/// Runs the gateway on its own (`authgate gateway`) until SIGTERM/SIGINT,
/// audit rows as JSON lines to `audit_log`.
pub async fn run(settings: Settings) -> Result<(), StartError> {
    let (audit, audit_task) =
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
    tracing::info!(addr = %settings.listen, upstreams = settings.upstreams.len(), "authgate gateway is listening");
    gateway
        .serve(listener, shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    let _ = tokio::time::timeout(Duration::from_secs(2), audit_task).await;
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
