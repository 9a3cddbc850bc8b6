//! `authgate gateway` (the gateway on its own, configured by its own TOML)
//! and the `[gateway]` section of `authgate serve` (the same gateway on
//! its own listener, its audit rows in authgate's audit log).

use authgate_authority::audit::AuditSink;
use authgate_core::model::AuditEvent;
use authgate_gateway::{AuditRow, Gateway, Settings};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Gateway audit rows as authgate audit events: `gateway.tool_call` for a
/// call let through (routine), `gateway.tool_call.refused` otherwise (a
/// security event, never dropped).
struct AuthorityAudit(AuditSink);

impl authgate_gateway::AuditSink for AuthorityAudit {
    fn record(&self, row: AuditRow) {
        let event = if row.outcome == "allowed" {
            "gateway.tool_call"
        } else {
            "gateway.tool_call.refused"
        };
        let mut detail = serde_json::json!({
            "upstream": row.upstream,
            "tool": row.tool,
            "status": row.status,
            "latency_ms": row.latency_ms,
        });
        if let Some(args) = row.arguments {
            detail["arguments"] = args;
        }
        self.0.record(AuditEvent {
            id: 0,
            at: row.time,
            event: event.to_owned(),
            actor: Some(row.sub),
            client_id: Some(row.client_id),
            resource_id: None,
            address: None,
            outcome: row.outcome.to_owned(),
            detail,
        });
    }
}

/// Checks the `[gateway]` table of authgate's configuration.
pub fn settings(table: &serde_json::Value) -> Result<Settings, String> {
    authgate_gateway::config::from_value(table.clone(), None)
        .map_err(|e| format!("configuration error: gateway.{}: {}", e.key, e.reason))
}

/// Starts the gateway next to the authorization server; it stops (with
/// its drain period) when `stop` turns true.
pub async fn start_in_serve(
    settings: &Settings,
    audit: AuditSink,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let gateway =
        Gateway::new(settings, Arc::new(AuthorityAudit(audit))).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("gateway: cannot listen on {}: {e}", settings.listen))?;
    tracing::info!(addr = %settings.listen, "authgate gateway is listening");
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = gateway.serve(listener, shutdown).await {
            tracing::error!(error = %e, "the gateway stopped");
        }
    }))
}

/// `authgate gateway --config gateway.toml [--listen ADDR]`.
pub async fn run_standalone(config: Option<PathBuf>, listen: Option<String>) -> Result<(), String> {
    let settings = authgate_gateway::config::load(config.as_deref(), listen.as_deref())
        .map_err(|e| e.to_string())?;
    authgate_gateway::run(settings)
        .await
        .map_err(|e| e.to_string())
}
