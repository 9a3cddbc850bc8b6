//! Start-up and shutdown: open the store, apply the config, load keys,
//! start background jobs, listen (optionally with TLS), stop gracefully on
//! SIGTERM/SIGINT.

use crate::state::{AppState, SharedState};
use authgate_authority::audit::AuditSink;
use authgate_authority::config::Settings;
use authgate_authority::keys::{self, KeyManager};
use authgate_authority::passwords::PasswordChecker;
use authgate_authority::registry::Registry;
use authgate_core::clock::{Clock, SystemClock};
use authgate_core::random::{OsRandom, Random};
use authgate_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] authgate_authority::config::ConfigError),
    #[error(transparent)]
    Store(#[from] authgate_store::StoreError),
    #[error("{0}")]
    Open(String),
    #[error(transparent)]
    Provision(#[from] authgate_authority::provision::ProvisionError),
    #[error(transparent)]
    Keys(#[from] keys::KeyManagerError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("{0}")]
    Gateway(String),
}

/// Builds the application state on an open store.
pub async fn build_state(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Random>,
) -> Result<(SharedState, tokio::task::JoinHandle<()>), StartError> {
    // Sealed keys are looked for before a key-encryption key is generated:
    // a lost data directory must stop start-up, not get a useless new key.
    let sealed = store.list_signing_keys().await?.len();
    let kek = Arc::new(keys::load_kek(&settings, sealed)?);
    authgate_authority::provision::apply(store.as_ref(), &settings.raw, clock.now()).await?;
    authgate_authority::builtin::ensure_admin_resource(store.as_ref(), &settings, clock.now())
        .await?;
    let keys = KeyManager::start(
        store.as_ref(),
        kek.clone(),
        settings.signing_alg,
        clock.as_ref(),
        rng.as_ref(),
    )
    .await?;
    let (audit, audit_task) = AuditSink::start(
        store.clone(),
        settings.raw.audit_queue_capacity,
        authgate_authority::audit::SECURITY_WAIT,
    );
    let login_limits = authgate_authority::throttle::Limits {
        per_account_address: settings.raw.login_max_failures_per_account,
        per_address: settings.raw.login_max_failures_per_address,
        lockout_secs: settings.raw.login_lockout_secs,
    };
    let passwords = PasswordChecker::new(settings.raw.password_hash_concurrency);
    let client_services = authgate_authority::clients::ClientServices::new(&settings)?;
    // Upstream identity providers: loopback only when authgate itself is
    // loopback (development, tests), never private networks.
    let federation = authgate_authority::federation::oidc::FederationServices::new(
        authgate_authority::client_services::connection_check_policy(&settings.issuer, false),
    )
    .map_err(|e| authgate_authority::config::ConfigError::new("federation", e))?;
    let state = Arc::new(AppState {
        settings: Arc::new(settings),
        store,
        keys: Arc::new(keys),
        kek,
        clock,
        rng,
        registry: Registry::new(),
        client_services,
        passwords,
        audit,
        login_throttle: authgate_authority::throttle::SignInThrottle::new(login_limits),
        reset_throttle: authgate_authority::throttle::RequestThrottle::new(
            authgate_authority::throttle::RESETS_PER_EMAIL,
            authgate_authority::throttle::RESETS_PER_ADDRESS,
            authgate_authority::throttle::RESET_WINDOW_SECS,
        ),
        signup_throttle: authgate_authority::throttle::RequestThrottle::new(
            authgate_authority::throttle::SIGNUPS_PER_EMAIL,
            authgate_authority::throttle::SIGNUPS_PER_ADDRESS,
            authgate_authority::throttle::RESET_WINDOW_SECS,
        ),
        discovery: Default::default(),
        federation,
    });
    Ok((state, audit_task))
}

/// Periodic jobs: key reload, usage flush, purges.
fn spawn_background(
    state: SharedState,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let reload = Duration::from_secs(state.settings.raw.key_reload_interval_secs);
        let mut key_tick = tokio::time::interval(reload);
        let mut usage_tick = tokio::time::interval(Duration::from_secs(10));
        // The first purge runs an hour after start, not at start: a restart
        // loop must not turn into a purge loop, and tests that arrange old
        // rows are not raced by it.
        let hour = Duration::from_secs(3600);
        let mut purge_tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
        loop {
            tokio::select! {
                _ = key_tick.tick() => {
                    if let Err(e) = state.keys.reload(state.store.as_ref(), state.clock.now()).await {
                        tracing::error!(error = %e, "could not reload signing keys");
                    }
                }
                _ = usage_tick.tick() => state.registry.flush_usage(state.store.as_ref()).await,
                _ = purge_tick.tick() => purge(&state).await,
                _ = stop.changed() => break,
            }
        }
        state.registry.flush_usage(state.store.as_ref()).await;
    })
}

/// The periodic clean-up (expired codes, sessions, revocations, retired
/// keys, unused dynamic and metadata document clients, old audit events).
pub async fn purge(state: &AppState) {
    let now = state.clock.now();
    let s = state.store.as_ref();
    let results = [
        s.purge_codes(now).await,
        s.purge_access_token_revocations(now).await,
        s.purge_sessions(now).await,
        keys::purge_removed(s, now)
            .await
            .map_err(|e| authgate_store::StoreError::Backend(e.to_string())),
        authgate_authority::registration::reap_unused_clients(state).await,
        authgate_authority::cimd::reap_unused_clients(state).await,
        s.purge_audit_events(now - state.settings.raw.audit_retention_days * 86400)
            .await,
        // Sent and given-up mail is kept a week (for "was it sent?").
        s.purge_mail(now - 7 * 86400).await,
    ];
    for r in results {
        if let Err(e) = r {
            tracing::warn!(error = %e, "periodic purge failed");
        }
    }
}

/// A server running in this process (used by `authgate serve` and tests).
pub struct Running {
    pub addr: SocketAddr,
    pub state: SharedState,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    audit_task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, flushes queues.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // The audit writer ends once the last state reference (and with it
        // the queue's sender) is gone; then queued events are written.
        drop(self.state);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.audit_task).await;
    }
}

/// Starts serving on an already bound listener.
pub async fn start(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
) -> Result<Running, StartError> {
    start_with_rng(settings, store, listener, Arc::new(OsRandom::new())).await
}

/// [`start`] with another random generator (tests inject a failing one).
pub async fn start_with_rng(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
    rng: Arc<dyn Random>,
) -> Result<Running, StartError> {
    let tls = crate::serve::tls_acceptor(&settings)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (state, audit_task) = build_state(settings, store, clock, rng).await?;
    let addr = listener.local_addr().map_err(|e| StartError::Bind {
        addr: state.settings.listen,
        source: e,
    })?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = spawn_background(state.clone(), stop_rx.clone());
    let mut tasks = vec![background];
    if let Some(smtp) = state.settings.smtp.clone() {
        tasks.push(tokio::spawn(authgate_authority::mail::worker::run(
            state.clone(),
            smtp,
            stop_rx.clone(),
        )));
    }
    let http = state.settings.raw.http.clone();
    let app = crate::listener::with_request_timeout(crate::router::router(state.clone()), &http);
    let server = tokio::spawn(crate::listener::serve(
        listener,
        tls,
        app,
        http,
        stop_rx.clone(),
    ));
    Ok(Running {
        addr,
        state,
        stop: stop_tx,
        tasks: {
            tasks.insert(0, server);
            tasks
        },
        audit_task,
    })
}

/// `authgate serve`: runs until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> Result<(), StartError> {
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    // `[gateway]` is checked before anything starts.
    let gateway = match &settings.raw.gateway {
        Some(table) => Some(crate::gateway::settings(table).map_err(StartError::Gateway)?),
        None => None,
    };
    let store = authgate_authority::store_open::open(&settings.database_url)
        .await
        .map_err(|e| StartError::Open(authgate_authority::store_open::open_failure(&e)))?;
    if let Some(m) = settings.metrics_listen {
        start_metrics(m).await?;
    }
    let listen = settings.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Bind {
            addr: listen,
            source: e,
        })?;
    let issuer = settings.issuer.clone();
    let backend = store.backend();
    let metrics = settings.metrics_listen.is_some();
    let running = start(settings, store, listener).await?;
    if metrics {
        start_metric_sampling(&running.state).await;
    }
    tracing::info!(%issuer, addr = %running.addr, store = backend, "authgate is listening");
    authgate_authority::setup_links::announce(&running.state).await;
    let (gateway_stop, gateway_stop_rx) = watch::channel(false);
    let gateway_task = match &gateway {
        Some(g) => Some(
            crate::gateway::start_in_serve(g, running.state.audit.clone(), gateway_stop_rx)
                .await
                .map_err(StartError::Gateway)?,
        ),
        None => None,
    };
    authgate_gateway::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = gateway_stop.send(true);
    if let Some(t) = gateway_task {
        let _ = t.await;
    }
    running.shutdown().await;
    Ok(())
}

/// How often histogram samples are folded into their summaries.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

async fn start_metrics(addr: SocketAddr) -> Result<(), StartError> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| StartError::Tls(format!("metrics: {e}")))?;
    crate::metric_catalog::describe();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::Bind { addr, source: e })?;
    // `install_recorder` leaves upkeep to us: until it runs (or someone
    // scrapes), every histogram sample (one per token) stays in memory, so a
    // server nobody scrapes would grow without bound.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(METRICS_UPKEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let h = handle.clone();
            async move { h.render() }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    tracing::info!(%addr, "metrics listening at /metrics");
    Ok(())
}

/// Registers the counters known at start at zero (the MCP servers are
/// known once the configuration is applied) and samples the store's pool
/// use every [`METRICS_UPKEEP`].
async fn start_metric_sampling(state: &SharedState) {
    let resources: Vec<String> = match state.store.list_resources().await {
        Ok(rs) => rs.into_iter().map(|r| r.id).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not list MCP servers for the metrics");
            vec![]
        }
    };
    crate::metric_catalog::register_zeroes(&resources);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(METRICS_UPKEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            crate::metric_catalog::record_pool_usage(store.as_ref());
        }
    });
}

pub fn tls_acceptor(settings: &Settings) -> Result<Option<tokio_rustls::TlsAcceptor>, StartError> {
    let (Some(cert), Some(key)) = (&settings.raw.tls_cert_file, &settings.raw.tls_key_file) else {
        return Ok(None);
    };
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| StartError::Tls(format!("cannot read {}: {e}", p.display())))
    };
    let certs: Vec<_> = rustls_pemfile::certs(&mut read(cert)?.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| StartError::Tls(format!("tls_cert_file: {e}")))?;
    if certs.is_empty() {
        return Err(StartError::Tls("tls_cert_file holds no certificate".into()));
    }
    let key = rustls_pemfile::private_key(&mut read(key)?.as_slice())
        .map_err(|e| StartError::Tls(format!("tls_key_file: {e}")))?
        .ok_or_else(|| StartError::Tls("tls_key_file holds no private key".into()))?;
    let cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StartError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| StartError::Tls(format!("certificate and key do not match: {e}")))?;
    let mut cfg = cfg;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))))
}
