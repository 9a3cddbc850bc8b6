//! Browser sessions on authgate's pages, stored by the hash of their id.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::Session;
use authgate_store::{SessionStore, StoreResult};
use sqlx::sqlite::SqliteRow;

fn from_row(row: &SqliteRow) -> StoreResult<Session> {
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
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, auth_time, created_at, \
             expires_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(to_json(&s.data)?)
        .execute(&self.writer)
        .await
        .map_err(db_err("session"))?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id_hash, user_id, csrf_token, auth_time, created_at, expires_at, data \
             FROM sessions WHERE id_hash = ? AND expires_at > ?",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err("session"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn update_session(&self, s: &Session) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET user_id = ?, csrf_token = ?, auth_time = ?, created_at = ?, \
             expires_at = ?, data = ? WHERE id_hash = ?",
        )
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(to_json(&s.data)?)
        .bind(&s.id_hash)
        .execute(&self.writer)
        .await
        .map_err(db_err("session"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected())
    }

    async fn purge_sessions(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(before)
            .execute(&self.writer)
            .await
            .map_err(db_err("session"))?;
        Ok(done.rows_affected())
    }
}
