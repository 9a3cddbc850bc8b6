//! Browser sessions on authgate's pages, stored by the hash of their id.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::Session;
use authgate_store::{SessionStore, StoreResult};

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Session> {
    Ok(Session {
        id_hash: col(row, "id_hash")?,
        user_id: col(row, "user_id")?,
        csrf_token: col(row, "csrf_token")?,
        auth_time: col(row, "auth_time")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        data: D::Db::json_col(row, "data")?,
    })
}

impl<DB: Run> Sql<DB> {
    /// Binds every column of `s`, in the INSERT's order (the UPDATE numbers
    /// its parameters to match).
    fn bind_session(self, s: &Session) -> Self {
        self.arg(&s.id_hash)
            .arg(&s.user_id)
            .arg(&s.csrf_token)
            .arg(s.auth_time)
            .arg(s.created_at)
            .arg(s.expires_at)
            .json(&s.data)
    }
}

#[async_trait]
impl<D: Dialect> SessionStore for SqlStore<D> {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, auth_time, created_at, \
             expires_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind_session(s)
        .execute(self.db.writer())
        .await
        .map_err(db_err("session"))?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<Session>> {
        sql::<D::Db>(
            "SELECT id_hash, user_id, csrf_token, auth_time, created_at, expires_at, data \
             FROM sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .arg(id_hash)
        .arg(now)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("session"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn update_session(&self, s: &Session) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE sessions SET user_id = $2, csrf_token = $3, auth_time = $4, created_at = $5, \
             expires_at = $6, data = $7 WHERE id_hash = $1",
        )
        .bind_session(s)
        .execute(self.db.writer())
        .await
        .map_err(db_err("session"))?;
        Ok(done > 0)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM sessions WHERE id_hash = $1")
            .arg(id_hash)
            .execute(self.db.writer())
            .await
            .map_err(db_err("session"))?;
        Ok(done > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> StoreResult<u64> {
        let done = sql::<D::Db>("DELETE FROM sessions WHERE user_id = $1")
            .arg(user_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("session"))?;
        Ok(done)
    }

    async fn purge_sessions(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sql::<D::Db>("DELETE FROM sessions WHERE expires_at < $1")
            .arg(before)
            .execute(self.db.writer())
            .await
            .map_err(db_err("session"))?;
        Ok(done)
    }
}
