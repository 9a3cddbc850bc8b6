//! Refresh tokens, stored by hash, rotated atomically.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{RefreshToken, RotationOutcome};
use authgate_store::{RefreshTokenStore, StoreResult};
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
        // One short write transaction on the single writer connection:
        // claim the parent (only an unrotated, unrevoked row matches), then
        // store the successor. Writers in this process queue on the writer
        // pool; other processes wait on the busy timeout (BEGIN IMMEDIATE).
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("refresh token"))?;
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? \
             WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&successor.token_hash)
        .bind(parent_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err("refresh token"))?;
        if claimed.rows_affected() == 1 {
            insert(&mut *tx, successor).await?;
            tx.commit().await.map_err(db_err("refresh token"))?;
            return Ok(RotationOutcome::Rotated);
        }
        let state: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT rotated_at, successor_hash, revoked_at FROM refresh_tokens \
             WHERE token_hash = ?",
        )
        .bind(parent_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err("refresh token"))?;
        tx.rollback().await.map_err(db_err("refresh token"))?;
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
