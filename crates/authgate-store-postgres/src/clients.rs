//! Clients (pre-registered, dynamic, metadata documents).

use crate::PostgresStore;
use crate::codec::{col, db_err, json_col};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, ClientKind};
use authgate_store::{ClientStore, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

macro_rules! cols {
    () => {
        "client_id, kind, metadata, secret_hash, registration_access_token_hash, resources, \
         allowed_scopes, blocked, registration_fingerprint, registration_count, created_at, \
         last_used_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<Client> {
    let kind: &str = col(row, "kind")?;
    Ok(Client {
        client_id: col(row, "client_id")?,
        kind: ClientKind::parse(kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown client kind {kind:?}")))?,
        metadata: json_col(row, "metadata")?,
        secret_hash: col(row, "secret_hash")?,
        registration_access_token_hash: col(row, "registration_access_token_hash")?,
        resources: col(row, "resources")?,
        allowed_scopes: col(row, "allowed_scopes")?,
        blocked: col(row, "blocked")?,
        registration_fingerprint: col(row, "registration_fingerprint")?,
        registration_count: col(row, "registration_count")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

#[async_trait]
impl ClientStore for PostgresStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO clients (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&c.client_id)
        .bind(c.kind.as_str())
        .bind(Json(&c.metadata))
        .bind(&c.secret_hash)
        .bind(&c.registration_access_token_hash)
        .bind(&c.resources)
        .bind(&c.allowed_scopes)
        .bind(c.blocked)
        .bind(&c.registration_fingerprint)
        .bind(c.registration_count)
        .bind(c.created_at)
        .bind(c.last_used_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("client"))?;
        Ok(())
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE clients SET kind = $1, metadata = $2, secret_hash = $3, \
             registration_access_token_hash = $4, resources = $5, allowed_scopes = $6, \
             blocked = $7, registration_fingerprint = $8, registration_count = $9, \
             created_at = $10, last_used_at = $11 WHERE client_id = $12",
        )
        .bind(c.kind.as_str())
        .bind(Json(&c.metadata))
        .bind(&c.secret_hash)
        .bind(&c.registration_access_token_hash)
        .bind(&c.resources)
        .bind(&c.allowed_scopes)
        .bind(c.blocked)
        .bind(&c.registration_fingerprint)
        .bind(c.registration_count)
        .bind(c.created_at)
        .bind(c.last_used_at)
        .bind(&c.client_id)
        .execute(&self.pool)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM clients WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("client"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM clients ORDER BY created_at, client_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("client"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(db_err("client"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_client(&self, client_id: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET last_used_at = $1 WHERE client_id = $2")
            .bind(now)
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(db_err("client"))?;
        Ok(())
    }

    async fn find_client_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<Client>> {
        // The fingerprint index first (a materialized CTE is a planner
        // fence): on a table without statistics, the planner otherwise may
        // walk the `created_at` index for ORDER BY … LIMIT 1 and filter
        // every client on the way when none matches.
        sqlx::query(concat!(
            "WITH m AS MATERIALIZED (SELECT ",
            cols!(),
            " FROM clients WHERE registration_fingerprint = $1) \
             SELECT * FROM m WHERE kind = 'dynamic' ORDER BY created_at, client_id LIMIT 1"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("client"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn count_clients(&self, kind: ClientKind) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM clients WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err("client"))
    }

    async fn reap_dynamic_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM clients WHERE kind = 'dynamic' \
             AND coalesce(last_used_at, created_at) < $1",
        )
        .bind(unused_since)
        .execute(&self.pool)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected())
    }

    async fn reap_metadata_document_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM clients WHERE kind = 'metadata_document' AND blocked = false \
             AND coalesce(last_used_at, created_at) < $1",
        )
        .bind(unused_since)
        .execute(&self.pool)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected())
    }
}
