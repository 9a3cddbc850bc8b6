//! Clients (pre-registered, dynamic, metadata documents).

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, opt_json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, ClientKind};
use authgate_store::{ClientStore, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;

macro_rules! cols {
    () => {
        "client_id, kind, metadata, secret_hash, registration_access_token_hash, resources, \
         allowed_scopes, blocked, registration_fingerprint, registration_count, created_at, \
         last_used_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<Client> {
    let kind: &str = col(row, "kind")?;
    Ok(Client {
        client_id: col(row, "client_id")?,
        kind: ClientKind::parse(kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown client kind {kind:?}")))?,
        metadata: json_col(row, "metadata")?,
        secret_hash: col(row, "secret_hash")?,
        registration_access_token_hash: col(row, "registration_access_token_hash")?,
        resources: json_col(row, "resources")?,
        allowed_scopes: opt_json_col(row, "allowed_scopes")?,
        blocked: col(row, "blocked")?,
        registration_fingerprint: col(row, "registration_fingerprint")?,
        registration_count: col(row, "registration_count")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

/// The JSON-encoded columns of a client.
struct Encoded {
    metadata: String,
    resources: String,
    allowed_scopes: Option<String>,
}

fn encode(c: &Client) -> StoreResult<Encoded> {
    Ok(Encoded {
        metadata: to_json(&c.metadata)?,
        resources: to_json(&c.resources)?,
        allowed_scopes: c.allowed_scopes.as_ref().map(to_json).transpose()?,
    })
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        let e = encode(c)?;
        sqlx::query(concat!(
            "INSERT INTO clients (",
            cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&c.client_id)
        .bind(c.kind.as_str())
        .bind(e.metadata)
        .bind(&c.secret_hash)
        .bind(&c.registration_access_token_hash)
        .bind(e.resources)
        .bind(e.allowed_scopes)
        .bind(c.blocked)
        .bind(&c.registration_fingerprint)
        .bind(c.registration_count)
        .bind(c.created_at)
        .bind(c.last_used_at)
        .execute(&self.writer)
        .await
        .map_err(db_err("client"))?;
        Ok(())
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let e = encode(c)?;
        let done = sqlx::query(
            "UPDATE clients SET kind = ?, metadata = ?, secret_hash = ?, \
             registration_access_token_hash = ?, resources = ?, allowed_scopes = ?, \
             blocked = ?, registration_fingerprint = ?, registration_count = ?, \
             created_at = ?, last_used_at = ? WHERE client_id = ?",
        )
        .bind(c.kind.as_str())
        .bind(e.metadata)
        .bind(&c.secret_hash)
        .bind(&c.registration_access_token_hash)
        .bind(e.resources)
        .bind(e.allowed_scopes)
        .bind(c.blocked)
        .bind(&c.registration_fingerprint)
        .bind(c.registration_count)
        .bind(c.created_at)
        .bind(c.last_used_at)
        .bind(&c.client_id)
        .execute(&self.writer)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM clients WHERE client_id = ?"
        ))
        .bind(client_id)
        .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
        .await
        .map_err(db_err("client"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.writer)
            .await
            .map_err(db_err("client"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_client(&self, client_id: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET last_used_at = ? WHERE client_id = ?")
            .bind(now)
            .bind(client_id)
            .execute(&self.writer)
            .await
            .map_err(db_err("client"))?;
        Ok(())
    }

    async fn find_client_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<Client>> {
        // `+kind` keeps the planner off the `kind` index: without table
        // statistics it preferred it and scanned every dynamic client per
        // registration (registration slowed as clients accumulated); the
        // fingerprint index finds the one or two candidates.
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM clients WHERE registration_fingerprint = ? AND +kind = 'dynamic' \
             ORDER BY created_at, client_id LIMIT 1"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err("client"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn count_clients(&self, kind: ClientKind) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM clients WHERE kind = ?")
            .bind(kind.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(db_err("client"))
    }

    async fn reap_dynamic_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM clients WHERE kind = 'dynamic' \
             AND coalesce(last_used_at, created_at) < ?",
        )
        .bind(unused_since)
        .execute(&self.writer)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected())
    }

    async fn reap_metadata_document_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM clients WHERE kind = 'metadata_document' AND blocked = 0 \
             AND coalesce(last_used_at, created_at) < ?",
        )
        .bind(unused_since)
        .execute(&self.writer)
        .await
        .map_err(db_err("client"))?;
        Ok(done.rows_affected())
    }
}
