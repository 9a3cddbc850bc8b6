//! How lists and JSON documents are stored, the one thing about values
//! that differs between the SQL backends ([`Values`]); `sqlite/values` and
//! `postgres/values` implement it. A leaf: the query plumbing (`query`)
//! and the dialects build on it.

use authgate_store::StoreResult;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::database::Database;
use sqlx::query::Query;

/// A sqlx query under construction, on database `DB`.
pub(crate) type Q<DB> = Query<'static, DB, <DB as Database>::Arguments>;

/// How a database stores the values whose SQL type differs between
/// backends. Implemented for sqlx's database types.
pub(crate) trait Values: Database {
    fn bind_list(q: Q<Self>, v: &[String]) -> Q<Self>;
    fn bind_opt_list(q: Q<Self>, v: Option<&[String]>) -> Q<Self>;
    fn bind_json<T: Serialize>(q: Q<Self>, v: &T) -> Q<Self>;
    fn list_col(row: &Self::Row, name: &str) -> StoreResult<Vec<String>>;
    fn opt_list_col(row: &Self::Row, name: &str) -> StoreResult<Option<Vec<String>>>;
    fn json_col<T: DeserializeOwned>(row: &Self::Row, name: &str) -> StoreResult<T>;
}
