//! Facts the dashboard keeps about the deployment (see
//! [`FactStore`]): one row per key, the value a JSON document.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_store::{Fact, FactStore, StoreResult};

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Fact> {
    Ok(Fact {
        key: col(row, "key")?,
        value: D::Db::json_col(row, "value")?,
        at: col(row, "at")?,
    })
}

#[async_trait]
impl<D: Dialect> FactStore for SqlStore<D> {
    async fn put_fact(
        &self,
        key: &str,
        value: &serde_json::Value,
        at: UnixTime,
    ) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO dashboard_facts (key, value, at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at",
        )
        .arg(key)
        .json(value)
        .arg(at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("fact"))?;
        Ok(())
    }

    async fn get_fact(&self, key: &str) -> StoreResult<Option<Fact>> {
        sql::<D::Db>("SELECT key, value, at FROM dashboard_facts WHERE key = $1")
            .arg(key)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err("fact"))?
            .as_ref()
            .map(from_row::<D>)
            .transpose()
    }

    async fn list_facts(&self, prefix: &str) -> StoreResult<Vec<Fact>> {
        sql::<D::Db>(
            "SELECT key, value, at FROM dashboard_facts \
             WHERE substr(key, 1, length($1)) = $1 ORDER BY key",
        )
        .arg(prefix)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("fact"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }
}
