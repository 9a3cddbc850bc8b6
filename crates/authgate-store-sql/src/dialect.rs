//! What differs between the SQL backends, and nothing else.
//!
//! The aggregate modules (`users`, `clients`, …) hold each query once and
//! are generic over a [`Dialect`]; `sqlite/` and `postgres/` implement it.
//! A difference belongs here only when the two databases really need it:
//! - how lists and JSON documents are stored ([`Values`](crate::values::Values):
//!   JSON text on SQLite, `TEXT[]` and `JSONB` on PostgreSQL);
//! - which pool reads and which writes, and how a write transaction begins;
//! - how a unique violation names its constraint;
//! - the few statements whose SQL differs (planner hints, string search);
//! - the operations each backend does its own way for speed or atomicity:
//!   refresh-token rotation, refresh-context reads, the first signing key,
//!   audit batches, revoking a grant's tokens.

use crate::query::Run;
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuditEvent, RefreshToken, RefreshTokenContext, SigningKeyRecord};
use authgate_store::StoreResult;
use sqlx::database::Database;
use sqlx::error::DatabaseError;
use sqlx::{Pool, Transaction};
use std::future::Future;

/// A SQL backend: its connections and what it does differently. The store
/// ([`crate::SqlStore`]) holds one.
pub(crate) trait Dialect: Send + Sync + Sized + 'static {
    /// The sqlx database.
    type Db: Run;

    /// Backend name for logs ("sqlite", "postgres").
    const NAME: &'static str;

    /// Finds the dynamic client with a registration fingerprint (`$1`),
    /// oldest first: each planner needs its own nudge to use the
    /// fingerprint index.
    const CLIENT_BY_FINGERPRINT: &'static str;

    /// Audit events, newest first: `$1` is the id to page before (or
    /// NULL), `$2` the case-insensitive substring to find (or NULL), `$3`
    /// the limit, `$4` the event name prefix, `$5` the actors and `$6` the
    /// outcomes (lists), `$7` from, `$8` until (each or NULL). Each
    /// database has its own substring function and list membership.
    const LIST_AUDIT_EVENTS: &'static str;

    /// A page of clients and their count (see `clients::clients_page!`):
    /// each database has its own substring function and JSON access.
    const CLIENTS_PAGE: (&'static str, &'static str);

    /// The pool that writes.
    fn writer(&self) -> &Pool<Self::Db>;

    /// The pool that reads.
    fn reader(&self) -> &Pool<Self::Db>;

    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Db>>> + Send;

    /// Whether a unique violation is on a constraint whose name contains
    /// `part` (PostgreSQL names it; SQLite only says it in its message).
    fn violates(e: &dyn DatabaseError, part: &str) -> bool;

    /// Claims `parent_hash` (only if unrotated, unrevoked and its grant
    /// live) and stores `successor` in its place, atomically; true when
    /// this call won the claim.
    fn claim_rotation(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// A refresh token, its grant and whether its person is active.
    fn refresh_token_context(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<RefreshTokenContext>>> + Send;

    /// Revokes the live refresh tokens of `grant_ids`, inside `tx`.
    fn revoke_tokens_of_grants(
        tx: &mut <Self::Db as Database>::Connection,
        grant_ids: &[String],
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts `k` unless an unretired key of its algorithm exists,
    /// atomically also against other processes; whether it was inserted.
    fn insert_first_signing_key(
        &self,
        k: &SigningKeyRecord,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Appends audit events, in order.
    fn append_audit_events(
        &self,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A row of `D`'s database.
pub(crate) type RowOf<D> = <<D as Dialect>::Db as Database>::Row;
