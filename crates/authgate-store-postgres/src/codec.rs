//! Row decoding and error mapping shared by every aggregate module.
//!
//! Nothing read from the database is trusted: a missing column, a wrong type
//! or malformed JSON becomes `StoreError::Backend`, never a panic.

use authgate_store::{StoreError, StoreResult};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;
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
pub(crate) fn col<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Backend(format!("column {name}: {e}")))
}

/// A JSONB column decoded into `T`.
pub(crate) fn json_col<T: DeserializeOwned>(row: &PgRow, name: &str) -> StoreResult<T> {
    let Json(v) = col::<Json<T>>(row, name)?;
    Ok(v)
}
