//! Refresh-token rotation with group commit.
//!
//! Every rotation is a write, and this store has one writer connection. Sent
//! one at a time, each rotation pays a hand-off between the async task that
//! waits for the connection and the connection's worker thread, and the
//! writer sits idle during each hand-off: under concurrent refreshes the
//! writer, not SQLite, was the limit (about 2,000 rotations/s here).
//!
//! So rotations queue for one task that takes everything waiting (up to
//! [`MAX_BATCH`]) and runs it as one command in one `BEGIN IMMEDIATE …
//! COMMIT`: per rotation, claim the parent (only an unrotated, unrevoked row
//! matches) and insert the successor only if the claim changed a row. Each
//! insert returns its position in the batch, so every caller learns whether
//! its own claim won. Two rotations of the same parent in one batch behave
//! as they would one after the other: the first wins, the second finds the
//! parent rotated.
//!
//! A batch runs as one of a few fixed sizes (powers of two up to
//! [`MAX_BATCH`]), padded with rotations that cannot match a row. Each size
//! is a prepared multi-statement command that stays in the connection's
//! statement cache; one per possible length (1 to 64) used to hold thousands
//! of prepared statements, about 19 MiB of resident memory after a burst of
//! refreshes at concurrency 64.
//!
//! If the batch fails as a whole (the transaction is rolled back), each
//! rotation is retried on its own, so one bad row cannot fail its
//! neighbours. If the task is gone (its runtime shut down), callers rotate
//! directly.

use crate::codec::db_err;
use authgate_core::clock::UnixTime;
use authgate_core::model::RefreshToken;
use authgate_store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::types::Json;
use sqlx::{Arguments, Sqlite, SqlitePool};
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// Most rotations in one transaction (12 parameters each, far below
/// SQLite's limit of 32,766).
const MAX_BATCH: usize = 64;
/// Rotations waiting for the writer task; beyond this, callers wait.
const QUEUE: usize = 4096;

/// One rotation: claim `parent_hash` and store `successor` in its place.
pub(crate) struct Rotation {
    pub parent_hash: String,
    pub successor: RefreshToken,
    pub now: UnixTime,
}

struct Job {
    rotation: Rotation,
    /// True when this rotation claimed the parent and stored the successor.
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// The queue in front of the writer task.
pub(crate) struct Rotator {
    tx: Option<mpsc::Sender<Job>>,
    writer: SqlitePool,
}

impl Rotator {
    /// Starts the writer task on the current tokio runtime, if there is one.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let tx = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (tx, rx) = mpsc::channel(QUEUE);
            rt.spawn(run(writer.clone(), rx));
            tx
        });
        Self { tx, writer }
    }

    /// Rotates; true when this call claimed the parent.
    pub(crate) async fn rotate(&self, rotation: Rotation) -> StoreResult<bool> {
        let Some(tx) = &self.tx else {
            return rotate_alone(&self.writer, &rotation).await;
        };
        let (reply, answer) = oneshot::channel();
        match tx.send(Job { rotation, reply }).await {
            Ok(()) => match answer.await {
                Ok(result) => result,
                // The task stopped with our job taken: whether it ran is
                // unknown, and the caller's read-after classifies that.
                Err(_) => Ok(false),
            },
            // The task is gone and the job was never taken.
            Err(mpsc::error::SendError(job)) => rotate_alone(&self.writer, &job.rotation).await,
        }
    }
}

async fn run(writer: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let rotations: Vec<&Rotation> = jobs.iter().map(|j| &j.rotation).collect();
        match rotate_batch(&writer, &rotations).await {
            Ok(won) => {
                for (i, job) in jobs.drain(..).enumerate() {
                    let _ = job.reply.send(Ok(won[i]));
                }
            }
            Err(_) => {
                // Rolled back as a whole: retry one by one.
                for job in jobs.drain(..) {
                    let result = rotate_alone(&writer, &job.rotation).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// The batch sizes that exist: 1, 2, 4, … [`MAX_BATCH`].
pub(crate) fn padded_len(n: usize) -> usize {
    n.next_power_of_two().min(MAX_BATCH)
}

/// The SQL for a batch of `n` rotations, `n` a power of two (built once per
/// size).
fn batch_sql(n: usize) -> &'static str {
    static CACHE: OnceLock<Vec<String>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|k| build_sql(1 << k))
            .collect()
    });
    &all[n.trailing_zeros() as usize]
}

/// A rotation that changes nothing, to fill a batch up to its size: no
/// stored token has an empty hash, so its claim matches no row and its
/// insert (which runs only when the claim changed a row) is skipped.
fn padding() -> Rotation {
    Rotation {
        parent_hash: String::new(),
        successor: RefreshToken {
            token_hash: String::new(),
            grant_id: String::new(),
            client_id: String::new(),
            scopes: Vec::new(),
            issued_at: 0,
            expires_at: 0,
            rotated_at: None,
            successor_hash: None,
            revoked_at: None,
        },
        now: 0,
    }
}

/// Anonymous `?` parameters, bound in the order they appear ([`bind`]):
/// sqlx numbers them across the statements of a multi-statement query,
/// whereas numbered `?NNN` parameters leave gaps that it cannot bind past.
fn build_sql(n: usize) -> String {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for i in 0..n {
        sql.push_str(&format!(
            "UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? \
             WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL;\n\
             INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, issued_at, \
             expires_at, rotated_at, successor_hash, revoked_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE changes() = 1 \
             RETURNING {i} AS job;\n"
        ));
    }
    sql.push_str("COMMIT;");
    sql
}

/// One rotation's parameters, in [`build_sql`]'s order.
fn bind(args: &mut SqliteArguments, r: &Rotation) -> StoreResult<()> {
    let s = &r.successor;
    let err = |e: sqlx::error::BoxDynError| StoreError::Backend(format!("refresh token: {e}"));
    // UPDATE
    args.add(r.now).map_err(err)?;
    args.add(s.token_hash.clone()).map_err(err)?;
    args.add(r.parent_hash.clone()).map_err(err)?;
    // INSERT
    args.add(s.token_hash.clone()).map_err(err)?;
    args.add(s.grant_id.clone()).map_err(err)?;
    args.add(s.client_id.clone()).map_err(err)?;
    args.add(Json(&s.scopes)).map_err(err)?;
    args.add(s.issued_at).map_err(err)?;
    args.add(s.expires_at).map_err(err)?;
    args.add(s.rotated_at).map_err(err)?;
    args.add(s.successor_hash.clone()).map_err(err)?;
    args.add(s.revoked_at).map_err(err)?;
    Ok(())
}

/// Runs `rotations` in one transaction; which of them claimed their parent.
async fn rotate_batch(writer: &SqlitePool, rotations: &[&Rotation]) -> StoreResult<Vec<bool>> {
    let size = padded_len(rotations.len());
    let mut args = SqliteArguments::default();
    for r in rotations {
        bind(&mut args, r)?;
    }
    if size > rotations.len() {
        let pad = padding();
        for _ in rotations.len()..size {
            bind(&mut args, &pad)?;
        }
    }
    let mut conn = WriterGuard::new(writer.acquire().await.map_err(db_err("refresh token"))?);
    let rows: Vec<(i64,)> = sqlx::query_as_with(batch_sql(size), args)
        .fetch_all(conn.conn())
        .await
        .map_err(db_err("refresh token"))?;
    conn.done();
    // Each returned row is the position of a rotation that won its claim
    // (padding never returns one).
    let mut won = vec![false; rotations.len()];
    for (job,) in rows {
        if let Some(slot) = usize::try_from(job).ok().and_then(|j| won.get_mut(j)) {
            *slot = true;
        }
    }
    Ok(won)
}

/// One rotation in its own transaction.
pub(crate) async fn rotate_alone(writer: &SqlitePool, r: &Rotation) -> StoreResult<bool> {
    rotate_batch(writer, &[r]).await.map(|won| won[0])
}

/// The writer connection while a raw `BEGIN … COMMIT` runs on it. Unless
/// [`done`](Self::done) is called (the command failed or the future was
/// dropped half-way) the connection is closed instead of returned to the
/// pool: closing rolls back whatever transaction was left open.
struct WriterGuard {
    conn: PoolConnection<Sqlite>,
    done: bool,
}

impl WriterGuard {
    fn new(conn: PoolConnection<Sqlite>) -> Self {
        Self { conn, done: false }
    }
    fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
    fn done(&mut self) {
        self.done = true;
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if !self.done {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sql_has_one_claim_and_insert_per_rotation() {
        let sql = build_sql(2);
        assert!(sql.starts_with("BEGIN IMMEDIATE;"));
        assert!(sql.ends_with("COMMIT;"));
        assert!(sql.contains("RETURNING 0 AS job"));
        assert!(sql.contains("RETURNING 1 AS job"));
        assert_eq!(sql.matches('?').count(), 24, "12 parameters per rotation");
        assert_eq!(batch_sql(MAX_BATCH).matches("RETURNING").count(), MAX_BATCH);
        assert_eq!(batch_sql(8).matches("RETURNING").count(), 8);
    }

    #[test]
    fn batches_are_padded_to_a_few_sizes() {
        let sizes: Vec<usize> = (1..=MAX_BATCH).map(padded_len).collect();
        assert_eq!(sizes[0], 1);
        assert_eq!(sizes[2], 4, "3 rotations run as a batch of 4");
        assert_eq!(sizes[32], 64, "33 rotations run as a batch of 64");
        let mut distinct = sizes.clone();
        distinct.dedup();
        assert_eq!(distinct, vec![1, 2, 4, 8, 16, 32, 64]);
    }
}
