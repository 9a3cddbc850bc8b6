//! How PostgreSQL stores lists and JSON documents: `TEXT[]` and `JSONB`.

use crate::codec::col;
use crate::values::{Q, Values};
use authgate_store::StoreResult;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;

impl Values for Postgres {
    fn bind_list(q: Q<Self>, v: &[String]) -> Q<Self> {
        q.bind(v)
    }

    fn bind_opt_list(q: Q<Self>, v: Option<&[String]>) -> Q<Self> {
        q.bind(v)
    }

    fn bind_json<T: Serialize>(q: Q<Self>, v: &T) -> Q<Self> {
        q.bind(Json(v))
    }

    fn list_col(row: &PgRow, name: &str) -> StoreResult<Vec<String>> {
        col(row, name)
    }

    fn opt_list_col(row: &PgRow, name: &str) -> StoreResult<Option<Vec<String>>> {
        col(row, name)
    }

    fn json_col<T: DeserializeOwned>(row: &PgRow, name: &str) -> StoreResult<T> {
        let Json(v) = col::<_, Json<T>>(row, name)?;
        Ok(v)
    }
}
