//! Refresh-context reads, batched.
//!
//! Every refresh starts by reading its token, grant and person
//! ([`crate::refresh::CONTEXT_SELECT`]). Sent one at a time, each read pays a
//! hand-off from the async task to the reader connection's thread and back:
//! two thread wake-ups, which under concurrent refreshes cost more CPU than
//! the read itself (the kernel parking and waking sqlx's threads was about a
//! quarter of the server's CPU).
//!
//! So reads queue for one task that takes everything waiting (up to
//! [`MAX_BATCH`]) and runs one `… WHERE r.token_hash IN (…)` query for all
//! of them, padded like rotations to a few fixed sizes (with the empty
//! hash, which no stored token has) so each size stays one cached prepared
//! statement. Alone, a read is a batch of one and costs what it did. A read
//! never changes anything, so two requests for the same token in one batch
//! simply get the same answer, and a failed batch fails its readers, who
//! answer as they would for any failed read.

use super::rotation::padded_len;
use crate::codec::{col, db_err};
use crate::refresh::{CONTEXT_SELECT, context_from_row};
use authgate_core::model::RefreshTokenContext;
use authgate_store::{StoreError, StoreResult};
use sqlx::Arguments;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteArguments;
use std::collections::HashMap;
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// Most reads in one query (a power of two, like [`super::rotation`]'s).
const MAX_BATCH: usize = 64;
/// Reads waiting for the task; beyond this, callers wait.
const QUEUE: usize = 4096;

type Answer = StoreResult<Option<RefreshTokenContext>>;

struct Job {
    token_hash: String,
    reply: oneshot::Sender<Answer>,
}

/// The queue in front of the reading task.
pub(crate) struct ContextReads {
    tx: Option<mpsc::Sender<Job>>,
}

impl ContextReads {
    /// Starts the reading task on the current tokio runtime, if there is one
    /// (without one, [`crate::SqliteStore`] reads directly).
    pub(crate) fn start(reader: SqlitePool) -> Self {
        let tx = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (tx, rx) = mpsc::channel(QUEUE);
            rt.spawn(run(reader, rx));
            tx
        });
        Self { tx }
    }

    /// The context of `token_hash`, through the batching task when it runs
    /// (directly on `reader` when it does not).
    pub(crate) async fn get(&self, reader: &SqlitePool, token_hash: &str) -> Answer {
        if let Some(tx) = &self.tx {
            let (reply, answer) = oneshot::channel();
            let job = Job {
                token_hash: token_hash.to_owned(),
                reply,
            };
            if tx.send(job).await.is_ok()
                && let Ok(result) = answer.await
            {
                return result;
            }
            // The task is gone (its runtime shut down): read directly.
        }
        let mut found = read_batch(reader, &[token_hash]).await?;
        Ok(found.remove(token_hash))
    }
}

async fn run(reader: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let hashes: Vec<&str> = jobs.iter().map(|j| j.token_hash.as_str()).collect();
        match read_batch(&reader, &hashes).await {
            Ok(found) => {
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Ok(found.get(&job.token_hash).cloned()));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(StoreError::Backend(why.clone())));
                }
            }
        }
    }
}

/// The SQL for `n` hashes, `n` a power of two up to [`MAX_BATCH`].
fn batch_sql(n: usize) -> &'static str {
    static CACHE: OnceLock<Vec<String>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|k| {
                let marks = vec!["?"; 1 << k].join(", ");
                format!("{CONTEXT_SELECT} WHERE r.token_hash IN ({marks})")
            })
            .collect()
    });
    &all[n.trailing_zeros() as usize]
}

/// The contexts of the tokens among `hashes` that exist, by hash.
async fn read_batch(
    reader: &SqlitePool,
    hashes: &[&str],
) -> StoreResult<HashMap<String, RefreshTokenContext>> {
    // Callers send at most MAX_BATCH (the task's recv_many limit, or one).
    debug_assert!(hashes.len() <= MAX_BATCH);
    let size = padded_len(hashes.len());
    let err = |e: sqlx::error::BoxDynError| StoreError::Backend(format!("refresh token: {e}"));
    let mut args = SqliteArguments::default();
    for h in hashes {
        args.add(*h).map_err(err)?;
    }
    for _ in hashes.len()..size {
        args.add("").map_err(err)?;
    }
    let rows = sqlx::query_with(batch_sql(size), args)
        .fetch_all(reader)
        .await
        .map_err(db_err("refresh token"))?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let hash: String = col(row, "token_hash")?;
        found.insert(hash, context_from_row::<sqlx::Sqlite>(row)?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_per_padded_size() {
        assert!(batch_sql(1).ends_with("WHERE r.token_hash IN (?)"));
        assert_eq!(batch_sql(16).matches('?').count(), 16);
        assert_eq!(batch_sql(MAX_BATCH).matches('?').count(), MAX_BATCH);
    }
}
