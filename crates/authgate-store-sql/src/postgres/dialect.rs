//! What PostgreSQL does its own way: one pool for reads and writes, and
//! single statements (or table locks) where SQLite relies on its one
//! writer connection.

use super::audit;
use super::database::PostgresDialect;
use crate::audit::list_audit_events;
use crate::clients::{client_cols, clients_page};
use crate::codec::db_err;
use crate::dialect::Dialect;
use crate::keys;
use crate::query::sql;
use crate::refresh::{context_from_row, context_select};
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuditEvent, RefreshToken, RefreshTokenContext, SigningKeyRecord};
use authgate_store::StoreResult;
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnection, Postgres};
use sqlx::{Pool, Transaction};

/// Rotation in one statement (one round trip, its own transaction):
/// 1. share-lock the parent's grant if it is live — this waits for a
///    concurrent `revoke_grant`, and a grant revoked meanwhile drops out;
/// 2. claim the parent: only an unrotated, unrevoked row matches, and
///    concurrent claimers re-check that after the winner commits;
/// 3. insert the successor only if the claim succeeded.
///
/// `$1` is the parent's hash, `$2` the time, `$3`… the successor's columns
/// (`$3` its hash).
const ROTATE: &str = "\
WITH live_grant AS (
    SELECT g.id FROM grants g
    JOIN refresh_tokens t ON t.grant_id = g.id
    WHERE t.token_hash = $1 AND g.revoked_at IS NULL
    FOR SHARE OF g
), parent AS (
    UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3
    WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL
      AND grant_id IN (SELECT id FROM live_grant)
    RETURNING token_hash
)
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, issued_at, expires_at,
                            rotated_at, successor_hash, revoked_at)
SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM parent
RETURNING token_hash";

impl Dialect for PostgresDialect {
    type Db = Postgres;

    const NAME: &'static str = "postgres";

    // The fingerprint index first (a materialized CTE is a planner
    // fence): on a table without statistics, the planner otherwise may
    // walk the `created_at` index for ORDER BY … LIMIT 1 and filter
    // every client on the way when none matches.
    const CLIENT_BY_FINGERPRINT: &'static str = concat!(
        "WITH m AS MATERIALIZED (SELECT ",
        client_cols!(),
        " FROM clients WHERE registration_fingerprint = $1) \
         SELECT * FROM m WHERE kind = 'dynamic' ORDER BY created_at, client_id LIMIT 1"
    );

    // Case-insensitive substring match; strpos() needs no LIKE escaping.
    const LIST_AUDIT_EVENTS: &'static str = list_audit_events!(
        "($1::bigint IS NULL OR id < $1) \
         AND ($2::text IS NULL OR strpos(lower(event), lower($2)) > 0 \
              OR strpos(lower(actor), lower($2)) > 0 \
              OR strpos(lower(client_id), lower($2)) > 0 \
              OR strpos(lower(resource_id), lower($2)) > 0) \
         AND ($5::text[] IS NULL OR actor = ANY($5)) \
         AND ($6::text[] IS NULL OR outcome = ANY($6))"
    );

    const CLIENTS_PAGE: (&'static str, &'static str) = clients_page!(
        "strpos(lower(client_id), lower($1)) > 0 \
         OR strpos(lower(coalesce(metadata->>'client_name', '')), lower($1)) > 0 \
         OR strpos(lower(coalesce(metadata->>'redirect_uris', '')), lower($1)) > 0"
    );

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.pool.begin().await
    }

    fn violates(e: &dyn DatabaseError, part: &str) -> bool {
        e.constraint().is_some_and(|c| c.contains(part))
    }

    async fn claim_rotation(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let inserted = sql::<Postgres>(ROTATE)
            .arg(parent_hash)
            .arg(now)
            .bind_token(successor)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("refresh token"))?;
        Ok(inserted.is_some())
    }

    /// One round trip for the refresh grant.
    async fn refresh_token_context(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenContext>> {
        const BY_HASH: &str = concat!(context_select!(), " WHERE r.token_hash = $1");
        let row = sql::<Postgres>(BY_HASH)
            .arg(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("refresh token"))?;
        row.as_ref().map(context_from_row::<Postgres>).transpose()
    }

    /// Runs as the second statement of the revoking transaction, grant
    /// first: the grant's row lock makes a concurrent rotation (which
    /// share-locks the grant) finish first or see the grant revoked, and
    /// this statement's fresh snapshot then sees every successor that
    /// rotation inserted.
    async fn revoke_tokens_of_grants(
        tx: &mut PgConnection,
        grant_ids: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        sql::<Postgres>(
            "UPDATE refresh_tokens SET revoked_at = $1 \
             WHERE grant_id = ANY($2) AND revoked_at IS NULL",
        )
        .arg(now)
        .list(grant_ids)
        .execute_in(tx)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(())
    }

    /// READ COMMITTED lets two `INSERT … WHERE NOT EXISTS` both see no key
    /// of the algorithm; a table lock that conflicts with itself serializes
    /// them, and the second one's statement then sees the first's row.
    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err("signing key"))?;
        sql::<Postgres>("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute_in(&mut tx)
            .await
            .map_err(db_err("signing key"))?;
        let rows = keys::insert::<Postgres>(keys::INSERT_FIRST, k)
            .execute_in(&mut tx)
            .await
            .map_err(db_err("signing key"))?;
        tx.commit().await.map_err(db_err("signing key"))?;
        Ok(rows == 1)
    }

    async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        audit::append(&self.pool, events).await
    }
}
