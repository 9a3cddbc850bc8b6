//! Audit rows: one per tool call, prompt fetch and resource read (name,
//! caller, client, outcome, latency). Arguments are never recorded unless
//! the tool's (prompt's) rule says `log_arguments = true`.

use serde::Serialize;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

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

/// JSON lines to stdout or a file, written by a background task every
/// [`WRITE_INTERVAL`] from a bounded queue (a slow disk drops rows,
/// counted, rather than stall calls). Rows still queued when the writer is
/// told to finish ([`AuditWriter::finish`]), or when every sender is gone,
/// are written before the task ends.
pub struct JsonLines {
    tx: mpsc::Sender<AuditRow>,
}

/// The background task writing a [`JsonLines`] sink's rows.
pub struct AuditWriter {
    task: tokio::task::JoinHandle<()>,
    finish: oneshot::Sender<()>,
}

impl AuditWriter {
    /// Closes the queue, writes every row queued so far and waits for the
    /// writer, `bound` at most (a slow disk). It does not wait for every
    /// sender to go: a connection that outlives the gateway's shutdown
    /// (cut, but its task not yet dropped) still holds one, and waiting for
    /// it lost the last rows when the process exited first. A row recorded
    /// after this is dropped and counted
    /// (`authgate_gateway_audit_dropped_total`). True when the writer
    /// finished in time (not when it panicked).
    pub async fn finish(self, bound: std::time::Duration) -> bool {
        let _ = self.finish.send(());
        matches!(tokio::time::timeout(bound, self.task).await, Ok(Ok(())))
    }
}

/// Rows that may wait for the writer, written every [`WRITE_INTERVAL`]:
/// 80,000 calls/s before any is dropped. (A row may carry a call's
/// arguments when its rule logs them: the bound is also on memory.)
const QUEUE: usize = 4096;
/// Rows taken from the queue at once.
const BATCH: usize = 256;
/// How often queued rows are written: the most a row waits in memory.
const WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

impl JsonLines {
    /// `target` is `-` (stdout) or a file path (appended to, created when
    /// missing).
    pub async fn open(target: &str) -> std::io::Result<(Arc<Self>, AuditWriter)> {
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
        let (finish, finish_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // The writer wakes on a clock, not per row: a row queued while
            // it sleeps wakes nobody. Waiting on the queue instead cost each
            // call a wake-up of this task, on another thread than the
            // gateway's workers (a futex and an eventfd write per call,
            // found by the gateway benchmark). Rows waiting are taken
            // together and written with one write (tokio hands each file
            // or stdout write to its blocking pool).
            let mut rows = Vec::with_capacity(BATCH);
            let mut buf = Vec::with_capacity(BATCH * 256);
            let mut tick = tokio::time::interval(WRITE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // `None` once told to finish, or once the handle is dropped
            // without a word (then the senders going ends the writer).
            let mut finish_rx = Some(finish_rx);
            loop {
                match finish_rx.as_mut() {
                    Some(f) => tokio::select! {
                        _ = tick.tick() => {}
                        told = f => {
                            finish_rx = None;
                            // No row can be queued after this; those
                            // queued are written below, then the loop ends.
                            if told.is_ok() {
                                rx.close();
                            }
                        }
                    },
                    None => {
                        tick.tick().await;
                    }
                }
                // Closed first: once closed no row can follow, so an empty
                // queue then is really the end.
                if rx.is_closed() && rx.is_empty() {
                    break;
                }
                if rx.is_empty() {
                    continue;
                }
                buf.clear();
                // Only what is queued now (recv_many returns at once): a
                // steady inflow does not keep one write growing.
                let mut left = rx.len();
                while left > 0 {
                    let n = rx.recv_many(&mut rows, BATCH.min(left)).await;
                    if n == 0 {
                        break;
                    }
                    left -= n;
                    for row in rows.drain(..) {
                        let start = buf.len();
                        match serde_json::to_writer(&mut buf, &row) {
                            Ok(()) => buf.push(b'\n'),
                            // Never half a row in the file.
                            Err(_) => buf.truncate(start),
                        }
                    }
                }
                if let Err(e) = out.write_all(&buf).await {
                    tracing::error!(error = %e, "cannot write audit rows");
                }
                let _ = out.flush().await;
                // A burst of rows with logged arguments does not keep its
                // buffer for good.
                buf.shrink_to(BATCH * 256);
            }
            let _ = out.flush().await;
        });
        Ok((Arc::new(Self { tx }), AuditWriter { task, finish }))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize) -> AuditRow {
        AuditRow {
            time: 1,
            upstream: "weather".into(),
            kind: "tool",
            tool: format!("tool-{i}"),
            sub: "ann".into(),
            client_id: "c".into(),
            outcome: "allowed",
            status: 200,
            latency_ms: 1,
            arguments: None,
        }
    }

    /// Rows queued together are written together, each a whole line, in
    /// order, none lost (more than one batch).
    #[tokio::test]
    async fn rows_are_written_whole_and_in_order() {
        let dir = std::env::temp_dir().join(format!("authgate-gw-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let (sink, task) = JsonLines::open(file.to_str().unwrap()).await.unwrap();
        for i in 0..(BATCH * 2 + 7) {
            sink.record(row(i));
        }
        drop(sink);
        assert!(task.finish(std::time::Duration::from_secs(5)).await);
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), BATCH * 2 + 7);
        for (i, l) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["tool"], format!("tool-{i}"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A row reaches the file while the gateway runs (within a few write
    /// intervals), not only when it stops.
    #[tokio::test]
    async fn a_row_is_written_while_the_sink_lives() {
        let dir =
            std::env::temp_dir().join(format!("authgate-gw-audit-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let (sink, _task) = JsonLines::open(file.to_str().unwrap()).await.unwrap();
        sink.record(row(7));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.contains("tool-7") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the row was not written in 2 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(sink);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Told to finish while a sender still lives (a connection outliving
    /// the shutdown), the writer writes every row queued and ends at once;
    /// a row recorded afterwards is refused, not left in a queue nobody
    /// reads.
    #[tokio::test]
    async fn finishing_writes_the_queue_without_waiting_for_the_senders() {
        let dir =
            std::env::temp_dir().join(format!("authgate-gw-audit-finish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let (sink, writer) = JsonLines::open(file.to_str().unwrap()).await.unwrap();
        for i in 0..(BATCH + 3) {
            sink.record(row(i));
        }
        let started = std::time::Instant::now();
        assert!(
            writer.finish(std::time::Duration::from_secs(5)).await,
            "the writer waited for the sender"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), BATCH + 3);
        assert!(sink.tx.try_send(row(999)).is_err(), "the queue is closed");
        drop(sink);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
