//! What SQLite does its own way: one writer connection beside a pool of
//! readers, `BEGIN IMMEDIATE` for writes, and the batching machinery of
//! the hot paths.

use super::audit;
use super::database::SqliteDialect;
use super::rotation;
use crate::audit::list_audit_events;
use crate::clients::{client_cols, clients_page};
use crate::codec::db_err;
use crate::dialect::Dialect;
use crate::keys;
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuditEvent, RefreshToken, RefreshTokenContext, SigningKeyRecord};
use authgate_store::StoreResult;
use sqlx::error::DatabaseError;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Pool, Transaction};

impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const NAME: &'static str = "sqlite";

    // `+kind` keeps the planner off the `kind` index: without table
    // statistics it preferred it and scanned every dynamic client per
    // registration (registration slowed as clients accumulated); the
    // fingerprint index finds the one or two candidates.
    const CLIENT_BY_FINGERPRINT: &'static str = concat!(
        "SELECT ",
        client_cols!(),
        " FROM clients WHERE registration_fingerprint = $1 AND +kind = 'dynamic' \
         ORDER BY created_at, client_id LIMIT 1"
    );

    // Case-insensitive (ASCII) substring match; instr() needs no LIKE
    // escaping.
    const LIST_AUDIT_EVENTS: &'static str = list_audit_events!(
        "($1 IS NULL OR id < $1) \
         AND ($2 IS NULL OR instr(lower(event), lower($2)) > 0 \
              OR instr(lower(coalesce(actor, '')), lower($2)) > 0 \
              OR instr(lower(coalesce(client_id, '')), lower($2)) > 0 \
              OR instr(lower(coalesce(resource_id, '')), lower($2)) > 0) \
         AND ($5 IS NULL OR actor IN (SELECT value FROM json_each($5))) \
         AND ($6 IS NULL OR outcome IN (SELECT value FROM json_each($6)))"
    );

    const CLIENTS_PAGE: (&'static str, &'static str) = clients_page!(
        "instr(lower(client_id), lower($1)) > 0 \
         OR instr(lower(coalesce(json_extract(metadata, '$.client_name'), '')), lower($1)) > 0 \
         OR instr(lower(coalesce(json_extract(metadata, '$.redirect_uris'), '')), lower($1)) > 0"
    );

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    fn reader(&self) -> &Pool<Sqlite> {
        &self.reader
    }

    /// `BEGIN IMMEDIATE`: another process writing the same file makes this
    /// wait on the busy timeout now, not fail half-way.
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// SQLite names the columns, not the constraint, in its message
    /// ("UNIQUE constraint failed: users.email_key").
    fn violates(e: &dyn DatabaseError, part: &str) -> bool {
        e.message().contains(part)
    }

    async fn claim_rotation(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // Queued for the writer task, which commits concurrent rotations
        // together (see `rotation`).
        self.rotator
            .rotate(rotation::Rotation {
                parent_hash: parent_hash.to_owned(),
                successor: successor.clone(),
                now,
            })
            .await
    }

    async fn refresh_token_context(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenContext>> {
        self.context_reads.get(&self.reader, token_hash).await
    }

    /// One statement per grant (a transaction revokes one or a few).
    async fn revoke_tokens_of_grants(
        tx: &mut SqliteConnection,
        grant_ids: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        for id in grant_ids {
            crate::query::sql::<Sqlite>(
                "UPDATE refresh_tokens SET revoked_at = $1 \
                 WHERE grant_id = $2 AND revoked_at IS NULL",
            )
            .arg(now)
            .arg(id)
            .execute_in(tx)
            .await
            .map_err(db_err("refresh token"))?;
        }
        Ok(())
    }

    /// On the one writer connection no other write of this process can
    /// come between the check and the insert (one statement), and another
    /// process's waits on the file lock.
    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        let rows = keys::insert::<Sqlite>(keys::INSERT_FIRST, k)
            .execute(&self.writer)
            .await
            .map_err(db_err("signing key"))?;
        Ok(rows == 1)
    }

    async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        audit::append(&self.writer, events).await
    }
}
