//! Row decoding and error mapping shared by every aggregate module.
//!
//! Nothing read from the database is trusted: a missing column, a wrong type
//! or malformed JSON becomes `StoreError::Backend`, never a panic.

use authgate_store::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Decode, Row, Type};

/// Maps a sqlx error: unique violations become `Conflict(what)`, anything
/// else `Backend`.
pub(crate) fn db_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Backend(format!("{what}: {e}")),
    }
}

/// A column of a row, with decode failures as `Backend`.
pub(crate) fn col<'r, T>(row: &'r SqliteRow, name: &str) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Backend(format!("column {name}: {e}")))
}

/// A JSON text column.
pub(crate) fn json_col<T: DeserializeOwned>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let text: &str = col(row, name)?;
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("column {name}: malformed JSON: {e}")))
}

/// A nullable JSON text column.
pub(crate) fn opt_json_col<T: DeserializeOwned>(
    row: &SqliteRow,
    name: &str,
) -> StoreResult<Option<T>> {
    let text: Option<&str> = col(row, name)?;
    text.map(|t| {
        serde_json::from_str(t)
            .map_err(|e| StoreError::Backend(format!("column {name}: malformed JSON: {e}")))
    })
    .transpose()
}

/// Serializes a value for a JSON text column.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("JSON encoding: {e}")))
}
