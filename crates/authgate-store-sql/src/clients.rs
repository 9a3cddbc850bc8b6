//! Clients (pre-registered, dynamic, metadata documents).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, ClientKind};
use authgate_store::{ClientFilter, ClientPage, ClientStore, StoreError, StoreResult};

macro_rules! cols {
    () => {
        "client_id, kind, metadata, secret_hash, registration_access_token_hash, resources, \
         allowed_scopes, blocked, registration_fingerprint, registration_count, created_at, \
         last_used_at"
    };
}
pub(crate) use cols as client_cols;

/// The clients a [`ClientFilter`] matches: `$1` the text (or NULL) found
/// by `$text`, the dialect's case-insensitive substring test of the id,
/// name and redirect URIs; `$2` the kind (or NULL); `$3` blocked (or NULL).
macro_rules! filtered {
    ($text:literal) => {
        concat!(
            " FROM clients WHERE (CAST($1 AS TEXT) IS NULL OR ",
            $text,
            ") AND (CAST($2 AS TEXT) IS NULL OR kind = $2) \
             AND (CAST($3 AS BOOLEAN) IS NULL OR blocked = $3)"
        )
    };
}

/// A page of filtered clients, newest first (`$4` limit, `$5` offset),
/// and their count: the dialect's queries for [`ClientStore::list_clients_page`].
macro_rules! clients_page {
    ($text:literal) => {
        (
            concat!(
                "SELECT ",
                $crate::clients::client_cols!(),
                $crate::clients::filtered!($text),
                " ORDER BY created_at DESC, client_id DESC LIMIT $4 OFFSET $5"
            ),
            concat!("SELECT count(*) AS n", $crate::clients::filtered!($text)),
        )
    };
}
pub(crate) use {clients_page, filtered};

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Client> {
    let kind: &str = col(row, "kind")?;
    Ok(Client {
        client_id: col(row, "client_id")?,
        kind: ClientKind::parse(kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown client kind {kind:?}")))?,
        metadata: D::Db::json_col(row, "metadata")?,
        secret_hash: col(row, "secret_hash")?,
        registration_access_token_hash: col(row, "registration_access_token_hash")?,
        resources: D::Db::list_col(row, "resources")?,
        allowed_scopes: D::Db::opt_list_col(row, "allowed_scopes")?,
        blocked: col(row, "blocked")?,
        registration_fingerprint: col(row, "registration_fingerprint")?,
        registration_count: col(row, "registration_count")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

impl<DB: Run> Sql<DB> {
    /// Binds every column of `c`, in `cols!` order (the INSERT's; the
    /// UPDATE numbers its parameters to match).
    fn bind_client(self, c: &Client) -> Self {
        self.arg(&c.client_id)
            .arg(c.kind.as_str())
            .json(&c.metadata)
            .arg(&c.secret_hash)
            .arg(&c.registration_access_token_hash)
            .list(&c.resources)
            .opt_list(c.allowed_scopes.as_deref())
            .arg(c.blocked)
            .arg(&c.registration_fingerprint)
            .arg(c.registration_count)
            .arg(c.created_at)
            .arg(c.last_used_at)
    }
}

#[async_trait]
impl<D: Dialect> ClientStore for SqlStore<D> {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO clients (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind_client(c)
        .execute(self.db.writer())
        .await
        .map_err(db_err("client"))?;
        Ok(())
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE clients SET kind = $2, metadata = $3, secret_hash = $4, \
             registration_access_token_hash = $5, resources = $6, allowed_scopes = $7, \
             blocked = $8, registration_fingerprint = $9, registration_count = $10, \
             created_at = $11, last_used_at = $12 WHERE client_id = $1",
        )
        .bind_client(c)
        .execute(self.db.writer())
        .await
        .map_err(db_err("client"))?;
        Ok(done > 0)
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM clients WHERE client_id = $1"
        ))
        .arg(client_id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("client"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM clients ORDER BY created_at, client_id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("client"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }

    async fn list_clients_page(
        &self,
        filter: &ClientFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<ClientPage> {
        let text = filter.text.as_deref().filter(|t| !t.is_empty());
        let kind = filter.kind.map(|k| k.as_str());
        let (page, count) = D::CLIENTS_PAGE;
        let items = sql::<D::Db>(page)
            .arg(text)
            .arg(kind)
            .arg(filter.blocked)
            .arg(limit.max(0))
            .arg(offset.max(0))
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err("client"))?
            .iter()
            .map(from_row::<D>)
            .collect::<StoreResult<Vec<_>>>()?;
        let row = sql::<D::Db>(count)
            .arg(text)
            .arg(kind)
            .arg(filter.blocked)
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err("client"))?;
        Ok(ClientPage {
            items,
            total: col(&row, "n")?,
        })
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM clients WHERE client_id = $1")
            .arg(client_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("client"))?;
        Ok(done > 0)
    }

    async fn touch_client(&self, client_id: &str, now: UnixTime) -> StoreResult<()> {
        sql::<D::Db>("UPDATE clients SET last_used_at = $1 WHERE client_id = $2")
            .arg(now)
            .arg(client_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("client"))?;
        Ok(())
    }

    async fn find_client_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<Client>> {
        sql::<D::Db>(D::CLIENT_BY_FINGERPRINT)
            .arg(fingerprint)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err("client"))?
            .as_ref()
            .map(from_row::<D>)
            .transpose()
    }

    async fn count_clients(&self, kind: ClientKind) -> StoreResult<i64> {
        let row = sql::<D::Db>("SELECT count(*) AS n FROM clients WHERE kind = $1")
            .arg(kind.as_str())
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err("client"))?;
        col(&row, "n")
    }

    async fn reap_dynamic_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sql::<D::Db>(
            "DELETE FROM clients WHERE kind = 'dynamic' \
             AND coalesce(last_used_at, created_at) < $1",
        )
        .arg(unused_since)
        .execute(self.db.writer())
        .await
        .map_err(db_err("client"))?;
        Ok(done)
    }

    async fn reap_metadata_document_clients(&self, unused_since: UnixTime) -> StoreResult<u64> {
        let done = sql::<D::Db>(
            "DELETE FROM clients WHERE kind = 'metadata_document' AND blocked = false \
             AND coalesce(last_used_at, created_at) < $1",
        )
        .arg(unused_since)
        .execute(self.db.writer())
        .await
        .map_err(db_err("client"))?;
        Ok(done)
    }
}
