//! The SQLite dialect: an embedded database file (the default backend).
//!
//! [`crate::SqliteStore::open`] opens (creating if missing) a database file in WAL
//! mode with `synchronous=NORMAL`, a 5 s busy timeout and foreign keys on,
//! and applies the embedded migrations.
//!
//! Concurrency: every write goes through one writer connection, so writers in
//! this process queue instead of failing with `SQLITE_BUSY`, and multi-statement
//! writes (`rotate_refresh_token`, `revoke_grant`...) run in `BEGIN IMMEDIATE`
//! transactions, so another process writing the same file waits on the busy
//! timeout rather than failing half-way. Reads use a separate pool of
//! connections (one per core, 2 to 8) that WAL lets run alongside the writer.
//!
//! WAL checkpoints run mostly (every 100 ms) on a connection of their own, not
//! inside the writer's commits (see `checkpoint`).
//!
//! Performance: sqlx runs each SQLite connection on its own thread, and every
//! command is a cross-thread round trip that costs more than SQLite's own work
//! for these small statements; the hot paths (`rotate_refresh_token`,
//! `redeem_code`) are therefore one command each, and concurrent rotations
//! share one command and one transaction (group commit, see `rotation`).
//!
//! Lists and JSON documents are stored as JSON text (`values`), booleans
//! as 0/1 and times as unix seconds.

mod audit;
mod checkpoint;
mod context_reads;
mod database;
mod dialect;
mod rotation;
mod values;

pub use database::SqliteDialect;
