//! Resources (MCP servers registered as protected resources).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::model::{Resource, SignupPolicy};
use authgate_store::{ResourceStore, StoreError, StoreResult};

macro_rules! cols {
    () => {
        "id, name, uri, scopes, default_scopes, access_token_ttl_secs, \
         refresh_token_idle_ttl_secs, refresh_token_absolute_ttl_secs, \
         allow_dynamic_registration, allow_client_id_metadata_documents, \
         allow_dynamic_client_credentials, \
         documentation_uri, logo_uri, created_at, updated_at, signup"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Resource> {
    Ok(Resource {
        id: col(row, "id")?,
        name: col(row, "name")?,
        uri: col(row, "uri")?,
        scopes: D::Db::json_col(row, "scopes")?,
        default_scopes: D::Db::list_col(row, "default_scopes")?,
        access_token_ttl_secs: col(row, "access_token_ttl_secs")?,
        refresh_token_idle_ttl_secs: col(row, "refresh_token_idle_ttl_secs")?,
        refresh_token_absolute_ttl_secs: col(row, "refresh_token_absolute_ttl_secs")?,
        allow_dynamic_registration: col(row, "allow_dynamic_registration")?,
        allow_client_id_metadata_documents: col(row, "allow_client_id_metadata_documents")?,
        allow_dynamic_client_credentials: col(row, "allow_dynamic_client_credentials")?,
        documentation_uri: col(row, "documentation_uri")?,
        logo_uri: col(row, "logo_uri")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        signup: signup_col::<D>(row)?,
    })
}

fn signup_col<D: Dialect>(row: &RowOf<D>) -> StoreResult<SignupPolicy> {
    let name: &str = col(row, "signup")?;
    SignupPolicy::parse(name)
        .ok_or_else(|| StoreError::Backend(format!("resource: unknown signup rule {name:?}")))
}

#[async_trait]
impl<D: Dialect> ResourceStore for SqlStore<D> {
    async fn upsert_resource(&self, r: &Resource) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO resources (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, uri = excluded.uri, \
             scopes = excluded.scopes, default_scopes = excluded.default_scopes, \
             access_token_ttl_secs = excluded.access_token_ttl_secs, \
             refresh_token_idle_ttl_secs = excluded.refresh_token_idle_ttl_secs, \
             refresh_token_absolute_ttl_secs = excluded.refresh_token_absolute_ttl_secs, \
             allow_dynamic_registration = excluded.allow_dynamic_registration, \
             allow_client_id_metadata_documents = excluded.allow_client_id_metadata_documents, \
             allow_dynamic_client_credentials = excluded.allow_dynamic_client_credentials, \
             documentation_uri = excluded.documentation_uri, \
             logo_uri = excluded.logo_uri, \
             created_at = excluded.created_at, updated_at = excluded.updated_at, \
             signup = excluded.signup"
        ))
        .arg(&r.id)
        .arg(&r.name)
        .arg(&r.uri)
        .json(&r.scopes)
        .list(&r.default_scopes)
        .arg(r.access_token_ttl_secs)
        .arg(r.refresh_token_idle_ttl_secs)
        .arg(r.refresh_token_absolute_ttl_secs)
        .arg(r.allow_dynamic_registration)
        .arg(r.allow_client_id_metadata_documents)
        .arg(r.allow_dynamic_client_credentials)
        .arg(&r.documentation_uri)
        .arg(&r.logo_uri)
        .arg(r.created_at)
        .arg(r.updated_at)
        .arg(r.signup.as_str())
        .execute(self.db.writer())
        .await
        .map_err(db_err("resource"))?;
        Ok(())
    }

    async fn get_resource(&self, id: &str) -> StoreResult<Option<Resource>> {
        sql::<D::Db>(concat!("SELECT ", cols!(), " FROM resources WHERE id = $1"))
            .arg(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err("resource"))?
            .as_ref()
            .map(from_row::<D>)
            .transpose()
    }

    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM resources ORDER BY created_at, id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("resource"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }

    async fn delete_resource(&self, id: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM resources WHERE id = $1")
            .arg(id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("resource"))?;
        Ok(done > 0)
    }
}
