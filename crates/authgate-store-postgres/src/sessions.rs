//! Browser sessions on authgate's pages, stored by the hash of their id.

use crate::PostgresStore;
use crate::codec::{col, db_err, json_col};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::Session;
use authgate_store::{SessionStore, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

fn from_row(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        id_hash: col(row, "id_hash")?,
        user_id: col(row, "user_id")?,
        csrf_token: col(row, "csrf_token")?,
        auth_time: col(row, "auth_time")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        data: json_col(row, "data")?,
    })
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, auth_time, created_at, \
             expires_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(Json(&s.data))
        .execute(&self.pool)
        .await
        .map_err(db_err("session"))?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id_hash, user_id, csrf_token, auth_time, created_at, expires_at, data \
             FROM sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("session"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn update_session(&self, s: &Session) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET user_id = $1, csrf_token = $2, auth_time = $3, \
             created_at = $4, expires_at = $5, data = $6 WHERE id_hash = $7",
        )
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(Json(&s.data))
        .bind(&s.id_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err("session"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected())
    }

    async fn purge_sessions(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected())
    }
}
