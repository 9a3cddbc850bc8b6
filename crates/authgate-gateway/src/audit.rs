//! Audit rows: one per tool call, prompt fetch and resource read (name,
//! caller, client, outcome, latency). Arguments are never recorded unless
//! the tool's (prompt's) rule says `log_arguments = true`.

use serde::Serialize;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// One tool call (prompt fetch, resource read) as the gateway saw it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// Unix seconds.
    pub time: i64,
    pub upstream: String,
    /// `tool` (`tools/call`), `prompt` (`prompts/get`) or `resource`
    /// (`resources/read`, `resources/subscribe`).
    pub kind: &'static str,
    /// The tool or prompt name, or the resource URI.
    pub tool: String,
    pub sub: String,
    pub client_id: String,
    /// `allowed` (forwarded; `status` is the upstream's), `insufficient_scope`,
    /// `denied` (no rule and `unknown_* = "deny"`), `rejected` (bad
    /// request), `upstream_timeout`, `upstream_unreachable`.
    pub outcome: &'static str,
    /// The HTTP status the client got.
    pub status: u16,
    /// Until the upstream's response headers (or the refusal).
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
}

/// Where audit rows go. Must not block: implementations queue.
pub trait AuditSink: Send + Sync {
    fn record(&self, row: AuditRow);
}

/// JSON lines to stdout or a file, written by a background task behind a
/// bounded queue (a slow disk drops rows, counted, rather than stall calls).
pub struct JsonLines {
    tx: mpsc::Sender<AuditRow>,
}

const QUEUE: usize = 4096;

impl JsonLines {
    /// `target` is `-` (stdout) or a file path (appended to, created when
    /// missing).
    pub async fn open(target: &str) -> std::io::Result<(Arc<Self>, tokio::task::JoinHandle<()>)> {
        let mut out: Box<dyn tokio::io::AsyncWrite + Send + Unpin> = if target == "-" {
            Box::new(tokio::io::stdout())
        } else {
            Box::new(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)
                    .await?,
            )
        };
        let (tx, mut rx) = mpsc::channel::<AuditRow>(QUEUE);
        let task = tokio::spawn(async move {
            while let Some(row) = rx.recv().await {
                let Ok(mut line) = serde_json::to_vec(&row) else {
                    continue;
                };
                line.push(b'\n');
                if let Err(e) = out.write_all(&line).await {
                    tracing::error!(error = %e, "cannot write an audit row");
                }
                if rx.is_empty() {
                    let _ = out.flush().await;
                }
            }
            let _ = out.flush().await;
        });
        Ok((Arc::new(Self { tx }), task))
    }
}

impl AuditSink for JsonLines {
    fn record(&self, row: AuditRow) {
        if self.tx.try_send(row).is_err() {
            metrics::counter!("authgate_gateway_audit_dropped_total").increment(1);
        }
    }
}

/// Keeps rows in memory (tests and embedding).
#[derive(Default)]
pub struct MemorySink {
    rows: std::sync::Mutex<Vec<AuditRow>>,
}

impl MemorySink {
    pub fn rows(&self) -> Vec<AuditRow> {
        match self.rows.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl AuditSink for MemorySink {
    fn record(&self, row: AuditRow) {
        match self.rows.lock() {
            Ok(mut r) => r.push(row),
            Err(p) => p.into_inner().push(row),
        }
    }
}
