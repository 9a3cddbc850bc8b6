//! Row decoding and error mapping shared by every aggregate module.
//!
//! Nothing read from the database is trusted: a missing column, a wrong type
//! or malformed JSON becomes `StoreError::Backend`, never a panic.

use crate::query::Reads;
use authgate_store::{StoreError, StoreResult};
use sqlx::Row;

/// Maps a sqlx error: unique violations become `Conflict(what)`, anything
/// else `Backend`.
pub(crate) fn db_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Backend(format!("{what}: {}", crate::reason(&e))),
    }
}

/// A column of a row, with decode failures as `Backend`.
pub(crate) fn col<'r, R, T>(row: &'r R, name: &str) -> StoreResult<T>
where
    R: Row,
    R::Database: Reads<'r, T, Row = R>,
{
    <R::Database as Reads<'r, T>>::read(row, name)
        .map_err(|e| StoreError::Backend(format!("column {name}: {e}")))
}
