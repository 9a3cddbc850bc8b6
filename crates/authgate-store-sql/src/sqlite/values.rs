//! How SQLite stores lists and JSON documents: as JSON text.

use crate::values::{Q, Values};
use authgate_store::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::types::Json;

impl Values for Sqlite {
    fn bind_list(q: Q<Self>, v: &[String]) -> Q<Self> {
        q.bind(Json(v))
    }

    fn bind_opt_list(q: Q<Self>, v: Option<&[String]>) -> Q<Self> {
        q.bind(v.map(Json))
    }

    fn bind_json<T: Serialize>(q: Q<Self>, v: &T) -> Q<Self> {
        q.bind(Json(v))
    }

    fn list_col(row: &SqliteRow, name: &str) -> StoreResult<Vec<String>> {
        Self::json_col(row, name)
    }

    fn opt_list_col(row: &SqliteRow, name: &str) -> StoreResult<Option<Vec<String>>> {
        let text: Option<&str> = row.try_get(name).map_err(|e| column(name, e))?;
        text.map(|t| parse(name, t)).transpose()
    }

    fn json_col<T: DeserializeOwned>(row: &SqliteRow, name: &str) -> StoreResult<T> {
        let text: &str = row.try_get(name).map_err(|e| column(name, e))?;
        parse(name, text)
    }
}

fn column(name: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("column {name}: {e}"))
}

fn parse<T: DeserializeOwned>(name: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("column {name}: malformed JSON: {e}")))
}
