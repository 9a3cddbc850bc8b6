//! Consents of users to clients for resources.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::model::Consent;
use authgate_store::{ConsentStore, StoreResult};
use sqlx::sqlite::SqliteRow;

macro_rules! cols {
    () => {
        "user_id, client_id, resource_id, scopes, created_at, updated_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: col(row, "user_id")?,
        client_id: col(row, "client_id")?,
        resource_id: col(row, "resource_id")?,
        scopes: json_col(row, "scopes")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn upsert_consent(&self, c: &Consent) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO consents (",
            cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (user_id, client_id, resource_id) DO UPDATE SET \
             scopes = excluded.scopes, created_at = excluded.created_at, \
             updated_at = excluded.updated_at"
        ))
        .bind(&c.user_id)
        .bind(&c.client_id)
        .bind(&c.resource_id)
        .bind(to_json(&c.scopes)?)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.writer)
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
            " FROM consents WHERE user_id = ? AND client_id = ? AND resource_id = ?"
        ))
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .fetch_optional(&self.reader)
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
            " FROM consents WHERE user_id = ? ORDER BY created_at, client_id, resource_id"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
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
            "DELETE FROM consents WHERE user_id = ? AND client_id = ? AND resource_id = ?",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(resource_id)
        .execute(&self.writer)
        .await
        .map_err(db_err("consent"))?;
        Ok(done.rows_affected() > 0)
    }
}
