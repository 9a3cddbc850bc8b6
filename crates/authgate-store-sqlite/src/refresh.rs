//! Refresh tokens, stored by hash, rotated atomically.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Grant, RefreshToken, RotationOutcome};
use authgate_store::{RefreshTokenStore, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Executor, Sqlite};

macro_rules! cols {
    () => {
        "token_hash, grant_id, client_id, scopes, issued_at, expires_at, rotated_at, \
         successor_hash, revoked_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        client_id: col(row, "client_id")?,
        scopes: json_col(row, "scopes")?,
        issued_at: col(row, "issued_at")?,
        expires_at: col(row, "expires_at")?,
        rotated_at: col(row, "rotated_at")?,
        successor_hash: col(row, "successor_hash")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

/// A refresh token joined with its grant (one read for the refresh grant).
pub(crate) async fn get_with_grant(
    store: &SqliteStore,
    token_hash: &str,
) -> StoreResult<Option<(RefreshToken, Option<Grant>)>> {
    let row = sqlx::query(
        "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.issued_at, r.expires_at, \
                r.rotated_at, r.successor_hash, r.revoked_at, \
                g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, \
                g.resource_id AS g_resource_id, g.scopes AS g_scopes, \
                g.auth_time AS g_auth_time, g.created_at AS g_created_at, \
                g.last_used_at AS g_last_used_at, g.expires_at AS g_expires_at, \
                g.revoked_at AS g_revoked_at \
         FROM refresh_tokens r LEFT JOIN grants g ON g.id = r.grant_id \
         WHERE r.token_hash = ?",
    )
    .bind(token_hash)
    .fetch_optional(&store.reader)
    .await
    .map_err(db_err("refresh token"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let token = from_row(&row)?;
    let gid: Option<String> = col(&row, "g_id")?;
    let grant = match gid {
        None => None,
        Some(id) => Some(Grant {
            id,
            client_id: col(&row, "g_client_id")?,
            user_id: col(&row, "g_user_id")?,
            resource_id: col(&row, "g_resource_id")?,
            scopes: json_col(&row, "g_scopes")?,
            auth_time: col(&row, "g_auth_time")?,
            created_at: col(&row, "g_created_at")?,
            last_used_at: col(&row, "g_last_used_at")?,
            expires_at: col(&row, "g_expires_at")?,
            revoked_at: col(&row, "g_revoked_at")?,
        }),
    };
    Ok(Some((token, grant)))
}

async fn insert<'e, E>(exec: E, t: &RefreshToken) -> StoreResult<()>
where
    E: Executor<'e, Database = Sqlite>,
{
    sqlx::query(concat!(
        "INSERT INTO refresh_tokens (",
        cols!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&t.token_hash)
    .bind(&t.grant_id)
    .bind(&t.client_id)
    .bind(to_json(&t.scopes)?)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.rotated_at)
    .bind(&t.successor_hash)
    .bind(t.revoked_at)
    .execute(exec)
    .await
    .map_err(db_err("refresh token"))?;
    Ok(())
}

/// Rotation as one command to the writer connection's worker thread (each
/// command costs a cross-thread round trip, which dominates SQLite's own
/// work here): take the write lock (`BEGIN IMMEDIATE`: another process
/// writing the file makes us wait on the busy timeout, not fail half-way),
/// claim the parent (only an unrotated, unrevoked row matches), insert the
/// successor only if the claim changed a row, commit. Run through
/// [`WriterGuard`].
const ROTATE: &str = "\
BEGIN IMMEDIATE;
UPDATE refresh_tokens SET rotated_at = ?1, successor_hash = ?2
 WHERE token_hash = ?3 AND rotated_at IS NULL AND revoked_at IS NULL;
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, issued_at, expires_at,
                            rotated_at, successor_hash, revoked_at)
SELECT ?2, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE changes() = 1
RETURNING token_hash;
COMMIT;";

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

#[async_trait]
impl RefreshTokenStore for SqliteStore {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
        insert(&self.writer, t).await
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM refresh_tokens WHERE token_hash = ?"
        ))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err("refresh token"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<RotationOutcome> {
        // The whole rotation is one command to the writer connection's
        // worker thread: BEGIN IMMEDIATE, claim the parent, insert the
        // successor if the claim changed a row, COMMIT.
        let s = successor;
        let scopes = to_json(&s.scopes)?;
        let mut conn = WriterGuard::new(
            self.writer
                .acquire()
                .await
                .map_err(db_err("refresh token"))?,
        );
        let inserted = sqlx::query(ROTATE)
            .bind(now)
            .bind(&s.token_hash)
            .bind(parent_hash)
            .bind(&s.grant_id)
            .bind(&s.client_id)
            .bind(scopes)
            .bind(s.issued_at)
            .bind(s.expires_at)
            .bind(s.rotated_at)
            .bind(&s.successor_hash)
            .bind(s.revoked_at)
            .fetch_all(conn.conn())
            .await
            .map_err(db_err("refresh token"))?;
        conn.done();
        // Give the writer back before reading: in memory it is the reader too.
        drop(conn);
        if !inserted.is_empty() {
            return Ok(RotationOutcome::Rotated);
        }
        // A rotated token never becomes unrotated, so reading after is safe.
        let state: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT rotated_at, successor_hash, revoked_at FROM refresh_tokens \
             WHERE token_hash = ?",
        )
        .bind(parent_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(match state {
            Some((Some(rotated_at), Some(successor_hash), None)) => {
                RotationOutcome::AlreadyRotated {
                    rotated_at,
                    successor_hash,
                }
            }
            _ => RotationOutcome::NotFound,
        })
    }

    async fn revoke_refresh_token(&self, token_hash: &str, now: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.writer)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(done.rows_affected() > 0)
    }
}
