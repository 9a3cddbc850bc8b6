//! Grants: what a user allowed a client for a resource, and the family of
//! refresh tokens issued under it.

use crate::PostgresStore;
use crate::codec::{col, db_err};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::Grant;
use authgate_store::{GrantStore, StoreResult};
use sqlx::postgres::PgRow;

macro_rules! cols {
    () => {
        "id, client_id, user_id, resource_id, scopes, auth_time, created_at, last_used_at, \
         expires_at, revoked_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<Grant> {
    Ok(Grant {
        id: col(row, "id")?,
        client_id: col(row, "client_id")?,
        user_id: col(row, "user_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: col(row, "scopes")?,
        auth_time: col(row, "auth_time")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

// Revocation runs as two statements in one transaction, grant first: the
// grant's row lock makes a concurrent rotation (which share-locks the grant)
// finish first or see the grant revoked, and the second statement's fresh
// snapshot then sees every successor that rotation inserted.
const REVOKE_TOKENS: &str = "UPDATE refresh_tokens SET revoked_at = $1 \
     WHERE grant_id = ANY($2) AND revoked_at IS NULL";

#[async_trait]
impl GrantStore for PostgresStore {
    async fn insert_grant(&self, g: &Grant) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO grants (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.resource_id)
        .bind(&g.scopes)
        .bind(g.auth_time)
        .bind(g.created_at)
        .bind(g.last_used_at)
        .bind(g.expires_at)
        .bind(g.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn get_grant(&self, id: &str) -> StoreResult<Option<Grant>> {
        sqlx::query(concat!("SELECT ", cols!(), " FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("grant"))?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn touch_grant(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err("grant"))?;
        let done =
            sqlx::query("UPDATE grants SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err("grant"))?;
        sqlx::query(REVOKE_TOKENS)
            .bind(now)
            .bind(&[id][..])
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
        let mut tx = self.pool.begin().await.map_err(db_err("grant"))?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 \
             AND resource_id = $4 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err("grant"))?;
        if !revoked.is_empty() {
            sqlx::query(REVOKE_TOKENS)
                .bind(now)
                .bind(&revoked)
                .execute(&mut *tx)
                .await
                .map_err(db_err("refresh token"))?;
        }
        tx.commit().await.map_err(db_err("grant"))?;
        Ok(revoked.len() as u64)
    }

    async fn revoke_grants_for_user(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err("grant"))?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             RETURNING id",
        )
        .bind(now)
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err("grant"))?;
        if !revoked.is_empty() {
            sqlx::query(REVOKE_TOKENS)
                .bind(now)
                .bind(&revoked)
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
            " FROM grants WHERE user_id = $1 AND revoked_at IS NULL \
              ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("grant"))?
        .iter()
        .map(from_row)
        .collect()
    }
}
