//! The PostgreSQL dialect, for several authgate instances sharing one
//! database.
//!
//! [`crate::PostgresStore::connect`] opens a pool and applies the embedded
//! migrations. Migrations take sqlx's advisory lock (keyed by database name),
//! so several instances starting together apply them once.
//!
//! Atomicity: `redeem_code` is one `UPDATE … WHERE consumed_at IS NULL
//! RETURNING`; `rotate_refresh_token` is one statement that share-locks the
//! token's grant (so it cannot race `revoke_grant`), claims the parent with
//! `UPDATE … WHERE rotated_at IS NULL AND revoked_at IS NULL` and inserts the
//! successor. Of concurrent callers — in one process or several — exactly one
//! wins; PostgreSQL re-checks the `WHERE` of the others once the winner
//! commits.
//!
//! Scope and id lists are stored as `TEXT[]`, documents as `JSONB`
//! (`values`).

mod audit;
mod database;
mod dialect;
mod values;

pub use database::PostgresDialect;
