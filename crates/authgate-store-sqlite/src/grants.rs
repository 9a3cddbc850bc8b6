//! Grants: what a user allowed a client for a resource, and the family of
//! refresh tokens issued under it.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::Grant;
use authgate_store::{GrantStore, StoreResult};
use sqlx::sqlite::SqliteRow;

macro_rules! cols {
    () => {
        "id, client_id, user_id, resource_id, scopes, auth_time, created_at, last_used_at, \
         expires_at, revoked_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<Grant> {
    Ok(Grant {
        id: col(row, "id")?,
        client_id: col(row, "client_id")?,
        user_id: col(row, "user_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: json_col(row, "scopes")?,
        auth_time: col(row, "auth_time")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn insert_grant(&self, g: &Grant) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO grants (",
            cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.resource_id)
        .bind(to_json(&g.scopes)?)
        .bind(g.auth_time)
        .bind(g.created_at)
        .bind(g.last_used_at)
        .bind(g.expires_at)
        .bind(g.revoked_at)
        .execute(&self.writer)
        .await
        .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn get_grant(&self, id: &str) -> StoreResult<Option<Grant>> {
        sqlx::query(concat!("SELECT ", cols!(), " FROM grants WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err("grant"))?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn touch_grant(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("grant"))?;
        let done =
            sqlx::query("UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err("grant"))?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err("refresh token"))?;
        tx.commit().await.map_err(db_err("grant"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_grants_for(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("grant"))?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE grants SET revoked_at = ? WHERE user_id = ? AND client_id = ? \
             AND resource_id = ? AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err("grant"))?;
        for id in &revoked {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = ? \
                 WHERE grant_id = ? AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err("refresh token"))?;
        }
        tx.commit().await.map_err(db_err("grant"))?;
        Ok(revoked.len() as u64)
    }

    async fn revoke_grants_for_user(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("grant"))?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL \
             RETURNING id",
        )
        .bind(now)
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err("grant"))?;
        for id in &revoked {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = ? \
                 WHERE grant_id = ? AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err("refresh token"))?;
        }
        tx.commit().await.map_err(db_err("grant"))?;
        Ok(revoked.len() as u64)
    }

    async fn list_grants_for_user(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM grants WHERE user_id = ? AND revoked_at IS NULL \
              ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err("grant"))?
        .iter()
        .map(from_row)
        .collect()
    }
}
