//! Logs, metrics and the audit trail.
//!
//! Audit events are queued and written in batches by a background task so
//! that no request waits on an audit insert; identical events in a batch
//! are written as one row that counts them (`audit_coalesce`). Nothing
//! secret goes in: no tokens, codes, secrets or passwords — only ids and
//! outcomes.

use crate::app::AppState;
use authgate_core::model::AuditEvent;
use authgate_store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;

pub fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("AUTHGATE_LOG")
        .or_else(|_| EnvFilter::try_new(format!("{level},sqlx=warn,hyper=warn,tower_http=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: tests may initialise more than once.
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// Most events written in one transaction.
const AUDIT_BATCH: usize = 1024;
/// How long the writer waits for more events after the first one of a batch.
/// Events are in the store this long after they happen, at most (plus the
/// write itself); on shutdown the queue is drained at once.
const AUDIT_LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// Sender side of the audit queue.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEvent>,
}

impl AuditSink {
    /// Starts the writer task; returns the sink and the task (awaited at shutdown
    /// after the sink is dropped, so queued events are written).
    pub fn start(store: Arc<dyn Store>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(10_000);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(AUDIT_BATCH);
            while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
                // Let a burst gather for a moment: one transaction of many
                // rows writes each database page once, where a transaction
                // per handful of rows rewrites the same pages again and
                // again (under token load this was a tenth of the server's
                // CPU). The task sleeps rather than waiting on the queue, so
                // events sent meanwhile wake nobody.
                if batch.len() < AUDIT_BATCH && !rx.is_closed() {
                    tokio::time::sleep(AUDIT_LINGER).await;
                    while batch.len() < AUDIT_BATCH {
                        match rx.try_recv() {
                            Ok(ev) => batch.push(ev),
                            Err(_) => break,
                        }
                    }
                }
                // Identical events become one row with their number (see
                // audit_coalesce), which builds a new vector, so the batch
                // is handed over whole; the store takes it by value (no
                // string copies).
                let events = std::mem::take(&mut batch);
                let lost = events.len();
                let events = crate::audit_coalesce::coalesce(events);
                if let Err(e) = store.append_audit_events(events).await {
                    tracing::error!(error = %e, lost, "could not write audit events");
                }
            }
        });
        (Self { tx }, task)
    }

    pub fn record(&self, ev: AuditEvent) {
        if self.tx.try_send(ev).is_err() {
            metrics::counter!("authgate_audit_dropped_total").increment(1);
            tracing::warn!("audit queue full; event dropped");
        }
    }
}

tokio::task_local! {
    /// The client address of the request being handled, for audit events.
    static CLIENT_ADDR: std::net::IpAddr;
}

/// Middleware: works out the request's client address once, by the one
/// rule in `http::client_address` (`X-Forwarded-For` only from trusted
/// proxies), puts it in the request's extensions for limiters and makes it
/// the address of audit events recorded while handling the request (those
/// given no address explicitly).
pub async fn client_address(
    axum::extract::State(state): axum::extract::State<crate::app::SharedState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) => {
            let addr = crate::http::client_address::client_address(
                ip,
                req.headers(),
                &state.settings.trusted_proxies,
            );
            req.extensions_mut()
                .insert(crate::http::client_address::ClientAddress(addr));
            CLIENT_ADDR.scope(addr, next.run(req)).await
        }
        None => next.run(req).await,
    }
}

/// The client address of the request being handled (by the one rule in
/// `http::client_address`), when there is one.
pub fn current_client_address() -> Option<std::net::IpAddr> {
    CLIENT_ADDR.try_with(|a| *a).ok()
}

/// Records an audit event with the common fields.
pub fn audit(
    state: &AppState,
    event: &str,
    actor: Option<&str>,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    outcome: &str,
) {
    audit_detail(
        state,
        event,
        actor,
        client_id,
        resource_id,
        None,
        outcome,
        serde_json::Value::Null,
    );
}

#[allow(clippy::too_many_arguments)]
pub fn audit_detail(
    state: &AppState,
    event: &str,
    actor: Option<&str>,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    address: Option<&str>,
    outcome: &str,
    detail: serde_json::Value,
) {
    state.audit.record(AuditEvent {
        id: 0,
        at: state.clock.now(),
        event: event.to_owned(),
        actor: actor.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        resource_id: resource_id.map(str::to_owned),
        address: address
            .map(str::to_owned)
            .or_else(|| CLIENT_ADDR.try_with(|a| ip_text(*a)).ok()),
        outcome: outcome.to_owned(),
        detail,
    });
}

/// An address as `Display` writes it. IPv4, nearly every event's, is
/// written by hand: `Display` for `Ipv4Addr` formats through a padded
/// buffer, which was a fifth of building an audit event.
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ip_text;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn ip_text_matches_display() {
        // Every octet value in every position, plus the edges.
        for n in 0..=255u8 {
            for ip in [
                Ipv4Addr::new(n, 0, 9, 255),
                Ipv4Addr::new(10, n, 100, 1),
                Ipv4Addr::new(99, 199, n, 0),
                Ipv4Addr::new(1, 20, 250, n),
            ] {
                assert_eq!(ip_text(IpAddr::V4(ip)), ip.to_string());
            }
        }
        for ip in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::LOCALHOST,
        ] {
            assert_eq!(ip_text(IpAddr::V4(ip)), ip.to_string());
        }
        for ip in [
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::UNSPECIFIED,
            "2001:db8::8a2e:370:7334".parse().unwrap(),
            "::ffff:192.0.2.1".parse().unwrap(),
        ] {
            assert_eq!(ip_text(IpAddr::V6(ip)), ip.to_string());
        }
    }
}
