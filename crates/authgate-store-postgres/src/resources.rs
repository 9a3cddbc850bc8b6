//! Resources (MCP servers registered as protected resources).

use crate::PostgresStore;
use crate::codec::{col, db_err, json_col};
use async_trait::async_trait;
use authgate_core::model::Resource;
use authgate_store::{ResourceStore, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

macro_rules! cols {
    () => {
        "id, name, uri, scopes, default_scopes, access_token_ttl_secs, \
         refresh_token_idle_ttl_secs, refresh_token_absolute_ttl_secs, \
         allow_dynamic_registration, allow_client_id_metadata_documents, \
         allow_dynamic_client_credentials, \
         documentation_uri, created_at, updated_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<Resource> {
    Ok(Resource {
        id: col(row, "id")?,
        name: col(row, "name")?,
        uri: col(row, "uri")?,
        scopes: json_col(row, "scopes")?,
        default_scopes: col(row, "default_scopes")?,
        access_token_ttl_secs: col(row, "access_token_ttl_secs")?,
        refresh_token_idle_ttl_secs: col(row, "refresh_token_idle_ttl_secs")?,
        refresh_token_absolute_ttl_secs: col(row, "refresh_token_absolute_ttl_secs")?,
        allow_dynamic_registration: col(row, "allow_dynamic_registration")?,
        allow_client_id_metadata_documents: col(row, "allow_client_id_metadata_documents")?,
        allow_dynamic_client_credentials: col(row, "allow_dynamic_client_credentials")?,
        documentation_uri: col(row, "documentation_uri")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl ResourceStore for PostgresStore {
    async fn upsert_resource(&self, r: &Resource) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO resources (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, uri = EXCLUDED.uri, \
             scopes = EXCLUDED.scopes, default_scopes = EXCLUDED.default_scopes, \
             access_token_ttl_secs = EXCLUDED.access_token_ttl_secs, \
             refresh_token_idle_ttl_secs = EXCLUDED.refresh_token_idle_ttl_secs, \
             refresh_token_absolute_ttl_secs = EXCLUDED.refresh_token_absolute_ttl_secs, \
             allow_dynamic_registration = EXCLUDED.allow_dynamic_registration, \
             allow_client_id_metadata_documents = EXCLUDED.allow_client_id_metadata_documents, \
             allow_dynamic_client_credentials = EXCLUDED.allow_dynamic_client_credentials, \
             documentation_uri = EXCLUDED.documentation_uri, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at"
        ))
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.uri)
        .bind(Json(&r.scopes))
        .bind(&r.default_scopes)
        .bind(r.access_token_ttl_secs)
        .bind(r.refresh_token_idle_ttl_secs)
        .bind(r.refresh_token_absolute_ttl_secs)
        .bind(r.allow_dynamic_registration)
        .bind(r.allow_client_id_metadata_documents)
        .bind(r.allow_dynamic_client_credentials)
        .bind(&r.documentation_uri)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("resource"))?;
        Ok(())
    }

    async fn get_resource(&self, id: &str) -> StoreResult<Option<Resource>> {
        sqlx::query(concat!("SELECT ", cols!(), " FROM resources WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("resource"))?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM resources ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("resource"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn delete_resource(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err("resource"))?;
        Ok(done.rows_affected() > 0)
    }
}
