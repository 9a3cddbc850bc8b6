//! Consents of users to clients for resources.

use crate::PostgresStore;
use crate::codec::{col, db_err};
use async_trait::async_trait;
use authgate_core::model::Consent;
use authgate_store::{ConsentStore, StoreResult};
use sqlx::postgres::PgRow;

macro_rules! cols {
    () => {
        "user_id, client_id, resource_id, scopes, created_at, updated_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: col(row, "user_id")?,
        client_id: col(row, "client_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: col(row, "scopes")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl ConsentStore for PostgresStore {
    async fn upsert_consent(&self, c: &Consent) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO consents (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, client_id, resource_id) DO UPDATE SET \
             scopes = EXCLUDED.scopes, created_at = EXCLUDED.created_at, \
             updated_at = EXCLUDED.updated_at"
        ))
        .bind(&c.user_id)
        .bind(&c.client_id)
        .bind(&c.resource_id)
        .bind(&c.scopes)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.pool)
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
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM consents WHERE user_id = $1 AND client_id = $2 AND resource_id = $3"
        ))
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("consent"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn list_consents_for_user(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM consents WHERE user_id = $1 ORDER BY created_at, client_id, resource_id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("consent"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn delete_consent(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM consents WHERE user_id = $1 AND client_id = $2 AND resource_id = $3",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .execute(&self.pool)
        .await
        .map_err(db_err("consent"))?;
        Ok(done.rows_affected() > 0)
    }
}
