//! WAL checkpoints on their own connection, off the writer's path.
//!
//! In WAL mode with `synchronous = NORMAL` a commit only appends to the WAL;
//! the disk flushes happen at checkpoints, when WAL pages are copied back
//! into the database file. SQLite's automatic checkpoint runs inside the
//! commit that crosses its threshold (1,000 pages), so the single writer
//! connection, and every rotation queued behind it, waited for two fsyncs
//! and a few MiB of copying several times a second under refresh load: on
//! this machine's disk that capped refreshes at ~3,400/s with a p99 of
//! 35 ms, against ~5,500/s and 7 ms with the same database on tmpfs.
//!
//! So most of that work moves here: every [`EVERY`] this task runs a
//! `PASSIVE` checkpoint on a connection of its own, which takes no lock a
//! writer needs, so commits keep appending while it copies and flushes.
//! A passive checkpoint alone never lets the WAL start over under steady
//! writes (new frames always arrive before it is done), so the writer keeps
//! an automatic checkpoint, at [`WRITER_CHECKPOINT_PAGES`] instead of 1,000:
//! it finds nearly everything already copied and flushed, finishes the rest
//! and lets the WAL wrap around (it stays under ~20 MiB). Measured with
//! refresh c16 on this machine's disk: ~3,250/s before, ~4,050/s with
//! both. Should the WAL still grow past [`TRUNCATE_ABOVE_FRAMES`], a
//! `TRUNCATE` checkpoint bounds it. When the store closes, SQLite
//! checkpoints and removes the WAL as the last connection closes.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::time::Duration;
use tokio::sync::oneshot;

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(100);
/// `wal_autocheckpoint` of every connection (SQLite's default is 1,000).
pub(crate) const WRITER_CHECKPOINT_PAGES: &str = "4000";
/// WAL length (in pages, 4 KiB each by default: 64 MiB) beyond which the
/// checkpoint waits for the writer and truncates the WAL.
const TRUNCATE_ABOVE_FRAMES: i64 = 16_384;

/// The checkpoint task; it also stops when this is dropped.
pub(crate) struct Checkpointer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the task on the current tokio runtime, if there is one.
    /// `options` are the store's connection options.
    pub(crate) fn start(options: SqliteConnectOptions) -> Option<Self> {
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let (stop, stopped) = oneshot::channel();
        let task = rt.spawn(run(options, stopped));
        Some(Self { stop, task })
    }

    /// Stops the task and waits until its connection is closed (so that the
    /// store's last connection to close can checkpoint and remove the WAL).
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn run(options: SqliteConnectOptions, mut stop: oneshot::Receiver<()>) {
    let mut conn: Option<SqliteConnection> = None;
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => break,
        }
        if conn.is_none() {
            match options.connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpointer cannot connect; will retry");
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = checkpoint(c).await {
            // A failed checkpoint loses nothing (the pages stay in the WAL);
            // reconnect and try again next time.
            tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
            conn = None;
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

async fn checkpoint(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    // (busy, pages in the WAL, pages copied back to the database)
    let (_, wal_frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    if wal_frames > TRUNCATE_ABOVE_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
