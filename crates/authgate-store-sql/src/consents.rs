//! Consents of users to clients for resources.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::model::Consent;
use authgate_store::{ConsentStore, StoreResult};

macro_rules! cols {
    () => {
        "user_id, client_id, resource_id, scopes, created_at, updated_at"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: col(row, "user_id")?,
        client_id: col(row, "client_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: D::Db::list_col(row, "scopes")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl<D: Dialect> ConsentStore for SqlStore<D> {
    async fn upsert_consent(&self, c: &Consent) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO consents (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, client_id, resource_id) DO UPDATE SET \
             scopes = excluded.scopes, created_at = excluded.created_at, \
             updated_at = excluded.updated_at"
        ))
        .arg(&c.user_id)
        .arg(&c.client_id)
        .arg(&c.resource_id)
        .list(&c.scopes)
        .arg(c.created_at)
        .arg(c.updated_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("consent"))?;
        Ok(())
    }

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
    ) -> StoreResult<Option<Consent>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM consents WHERE user_id = $1 AND client_id = $2 AND resource_id = $3"
        ))
        .arg(user_id)
        .arg(client_id)
        .arg(resource_id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("consent"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn list_consents_for_user(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM consents WHERE user_id = $1 ORDER BY created_at, client_id, resource_id"
        ))
        .arg(user_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("consent"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }

    async fn delete_consent(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "DELETE FROM consents WHERE user_id = $1 AND client_id = $2 AND resource_id = $3",
        )
        .arg(user_id)
        .arg(client_id)
        .arg(resource_id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("consent"))?;
        Ok(done > 0)
    }
}
