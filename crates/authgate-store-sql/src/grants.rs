//! Grants: what a user allowed a client for a resource, and the family of
//! refresh tokens issued under it.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::{Sql, sql};
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuthContext, Grant};
use authgate_store::{GrantStore, StoreResult};

macro_rules! cols {
    () => {
        "id, client_id, user_id, resource_id, scopes, auth_time, created_at, last_used_at, \
         expires_at, revoked_at, amr, idp, org_id"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Grant> {
    Ok(Grant {
        id: col(row, "id")?,
        client_id: col(row, "client_id")?,
        user_id: col(row, "user_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: D::Db::list_col(row, "scopes")?,
        auth_time: col(row, "auth_time")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
        auth: AuthContext {
            amr: D::Db::list_col(row, "amr")?,
            idp: col(row, "idp")?,
            org_id: col(row, "org_id")?,
        },
    })
}

#[async_trait]
impl<D: Dialect> GrantStore for SqlStore<D> {
    async fn insert_grant(&self, g: &Grant) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO grants (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .arg(&g.id)
        .arg(&g.client_id)
        .arg(&g.user_id)
        .arg(&g.resource_id)
        .list(&g.scopes)
        .arg(g.auth_time)
        .arg(g.created_at)
        .arg(g.last_used_at)
        .arg(g.expires_at)
        .arg(g.revoked_at)
        .list(&g.auth.amr)
        .arg(&g.auth.idp)
        .arg(&g.auth.org_id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn get_grant(&self, id: &str) -> StoreResult<Option<Grant>> {
        sql::<D::Db>(concat!("SELECT ", cols!(), " FROM grants WHERE id = $1"))
            .arg(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err("grant"))?
            .as_ref()
            .map(from_row::<D>)
            .transpose()
    }

    async fn touch_grant(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        sql::<D::Db>("UPDATE grants SET last_used_at = $1 WHERE id = $2")
            .arg(now)
            .arg(id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("grant"))?;
        Ok(())
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.db.begin_write().await.map_err(db_err("grant"))?;
        let done =
            sql::<D::Db>("UPDATE grants SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
                .arg(now)
                .arg(id)
                .execute_in(&mut tx)
                .await
                .map_err(db_err("grant"))?;
        D::revoke_tokens_of_grants(&mut tx, &[id.to_owned()], now).await?;
        tx.commit().await.map_err(db_err("grant"))?;
        Ok(done > 0)
    }

    async fn revoke_grants_for(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let revoke = sql::<D::Db>(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 \
             AND resource_id = $4 AND revoked_at IS NULL RETURNING id",
        )
        .arg(now)
        .arg(user_id)
        .arg(client_id)
        .arg(resource_id);
        revoke_with_tokens(&self.db, revoke, now).await
    }

    async fn revoke_grants_for_user(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let revoke = sql::<D::Db>(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             RETURNING id",
        )
        .arg(now)
        .arg(user_id);
        revoke_with_tokens(&self.db, revoke, now).await
    }

    async fn list_grants_for_user(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM grants WHERE user_id = $1 AND revoked_at IS NULL \
              ORDER BY created_at DESC, id DESC"
        ))
        .arg(user_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("grant"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }
}

/// Runs `revoke` (an UPDATE of grants `RETURNING id`) and revokes the
/// refresh tokens of the grants it revoked, in one write transaction.
/// Returns how many grants.
async fn revoke_with_tokens<D: Dialect>(
    db: &D,
    revoke: Sql<D::Db>,
    now: UnixTime,
) -> StoreResult<u64> {
    let mut tx = db.begin_write().await.map_err(db_err("grant"))?;
    let revoked = revoke
        .fetch_all_in(&mut tx)
        .await
        .map_err(db_err("grant"))?
        .iter()
        .map(|row| col(row, "id"))
        .collect::<StoreResult<Vec<String>>>()?;
    if !revoked.is_empty() {
        D::revoke_tokens_of_grants(&mut tx, &revoked, now).await?;
    }
    tx.commit().await.map_err(db_err("grant"))?;
    Ok(revoked.len() as u64)
}
