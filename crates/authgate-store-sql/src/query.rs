//! The plumbing that lets the aggregate modules run one query text on any
//! sqlx database: [`Sql`] binds values and runs the query, [`Col`] reads a
//! column.
//!
//! sqlx's own `query(…).bind(…)` needs, for every value type, a bound such
//! as `i64: Encode<DB>` that Rust cannot infer from `DB: Database` alone.
//! [`Run`] names every capability the shared code uses, once, and is
//! implemented for every sqlx database that has them (SQLite and
//! PostgreSQL). Everything here is generic and monomorphized: a query on
//! SQLite compiles to the same calls as a hand-written SQLite query.

use crate::values::{Q, Values};
use serde::Serialize;
use sqlx::database::Database;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row, SqlSafeStr, Type};
use std::future::Future;
use std::time::Instant;

/// `DB` can bind a `T` (a blanket implementation of what sqlx's
/// `Query::bind` requires).
pub(crate) trait Binds<T>: Database {
    fn bind_value(q: Q<Self>, v: T) -> Q<Self>;
}

impl<'t, DB: Database, T: Encode<'t, DB> + Type<DB>> Binds<T> for DB {
    fn bind_value(q: Q<Self>, v: T) -> Q<Self> {
        q.bind(v)
    }
}

/// `DB` can read a `T` from a row by column name.
pub(crate) trait Reads<'r, T>: Database {
    fn read(row: &'r Self::Row, name: &str) -> Result<T, sqlx::Error>;
}

impl<'r, DB: Database, T: Decode<'r, DB> + Type<DB>> Reads<'r, T> for DB
where
    for<'n> &'n str: ColumnIndex<DB::Row>,
{
    fn read(row: &'r Self::Row, name: &str) -> Result<T, sqlx::Error> {
        row.try_get(name)
    }
}

/// Rows changed by a statement (sqlx has no trait for it).
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// Running a query on a pool or on a transaction's connection, for every
/// sqlx database whose connections execute queries.
pub(crate) trait Exec: Database {
    fn execute<'e>(
        q: Q<Self>,
        pool: &'e Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send + 'e;
    fn fetch_one<'e>(
        q: Q<Self>,
        pool: &'e Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<Self::Row>> + Send + 'e;
    fn fetch_optional<'e>(
        q: Q<Self>,
        pool: &'e Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<Option<Self::Row>>> + Send + 'e;
    fn fetch_all<'e>(
        q: Q<Self>,
        pool: &'e Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<Vec<Self::Row>>> + Send + 'e;
    fn execute_in<'e>(
        q: Q<Self>,
        conn: &'e mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send + 'e;
    fn fetch_all_in<'e>(
        q: Q<Self>,
        conn: &'e mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<Vec<Self::Row>>> + Send + 'e;
}

impl<DB> Exec for DB
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    async fn execute(q: Q<Self>, pool: &Pool<Self>) -> sqlx::Result<u64> {
        q.execute(pool).await.map(|done| done.rows_affected())
    }
    async fn fetch_one(q: Q<Self>, pool: &Pool<Self>) -> sqlx::Result<Self::Row> {
        q.fetch_one(pool).await
    }
    async fn fetch_optional(q: Q<Self>, pool: &Pool<Self>) -> sqlx::Result<Option<Self::Row>> {
        q.fetch_optional(pool).await
    }
    async fn fetch_all(q: Q<Self>, pool: &Pool<Self>) -> sqlx::Result<Vec<Self::Row>> {
        q.fetch_all(pool).await
    }
    async fn execute_in(q: Q<Self>, conn: &mut Self::Connection) -> sqlx::Result<u64> {
        q.execute(conn).await.map(|done| done.rows_affected())
    }
    async fn fetch_all_in(q: Q<Self>, conn: &mut Self::Connection) -> sqlx::Result<Vec<Self::Row>> {
        q.fetch_all(conn).await
    }
}

/// Everything the shared code asks of a sqlx database: the value types it
/// binds and reads, how it stores lists and documents ([`Values`]) and
/// running queries ([`Exec`]). SQLite and PostgreSQL implement it (with no
/// code: the compiler checks they have every capability).
pub(crate) trait Run:
    Exec
    + Values
    + Binds<i64>
    + Binds<Option<i64>>
    + Binds<bool>
    + Binds<Option<bool>>
    + Binds<String>
    + for<'a> Binds<&'a str>
    + for<'a> Binds<Option<&'a str>>
    + for<'a> Binds<&'a String>
    + for<'a> Binds<&'a Option<String>>
    + for<'a> Binds<&'a Vec<u8>>
    + for<'a> Binds<&'a Option<Vec<u8>>>
    + for<'r> Reads<'r, i64>
    + for<'r> Reads<'r, Option<i64>>
    + for<'r> Reads<'r, bool>
    + for<'r> Reads<'r, String>
    + for<'r> Reads<'r, Option<String>>
    + for<'r> Reads<'r, &'r str>
    + for<'r> Reads<'r, Vec<u8>>
    + for<'r> Reads<'r, Option<Vec<u8>>>
{
}

impl Run for sqlx::Sqlite {}
impl Run for sqlx::Postgres {}

/// A query: `sql::<DB>("… $1 …").arg(x).list(&v).execute(pool)`. Parameters
/// are numbered (`$1`, `$2`…) on every backend: sqlx's SQLite driver binds
/// `$N` to the N-th value as PostgreSQL does.
#[must_use = "a query does nothing until it runs"]
pub(crate) struct Sql<DB: Run> {
    q: Q<DB>,
    op: Op,
}

/// `authgate_store_query_seconds{operation,statement}`: how long queries
/// take, by the store module that runs them (`users`, `refresh`, …) and
/// their first keyword (`select`, `insert`, …); both come from static
/// text, so the label set is bounded.
pub(crate) const STORE_QUERY_SECONDS: &str = "authgate_store_query_seconds";

/// A query's labels.
#[derive(Clone, Copy)]
struct Op {
    module: &'static str,
    statement: &'static str,
}

impl Op {
    fn record(self, started: Instant) {
        metrics::histogram!(
            STORE_QUERY_SECONDS,
            "operation" => self.module,
            "statement" => self.statement
        )
        .record(started.elapsed().as_secs_f64());
    }
}

/// The store module a query is written in: the caller's file name.
fn module_of(file: &'static str) -> &'static str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.strip_suffix(".rs").unwrap_or(name)
}

fn statement_of(text: &str) -> &'static str {
    let first = text.split_whitespace().next().unwrap_or("");
    for s in ["select", "insert", "update", "delete", "with"] {
        if first.eq_ignore_ascii_case(s) {
            return s;
        }
    }
    "other"
}

/// Starts a query.
#[track_caller]
pub(crate) fn sql<DB: Run>(text: impl SqlSafeStr) -> Sql<DB> {
    let text = text.into_sql_str();
    let op = Op {
        module: module_of(std::panic::Location::caller().file()),
        statement: statement_of(text.as_str()),
    };
    Sql {
        q: sqlx::query(text),
        op,
    }
}

impl<DB: Run> Sql<DB> {
    /// Binds the next parameter.
    pub(crate) fn arg<T>(self, v: T) -> Self
    where
        DB: Binds<T>,
    {
        Self {
            q: DB::bind_value(self.q, v),
            op: self.op,
        }
    }

    /// Binds a list of strings, stored as the backend stores lists.
    pub(crate) fn list(self, v: &[String]) -> Self {
        Self {
            q: DB::bind_list(self.q, v),
            op: self.op,
        }
    }

    /// Binds an optional list of strings.
    pub(crate) fn opt_list(self, v: Option<&[String]>) -> Self {
        Self {
            q: DB::bind_opt_list(self.q, v),
            op: self.op,
        }
    }

    /// Binds a JSON document, stored as the backend stores documents.
    pub(crate) fn json<T: Serialize>(self, v: &T) -> Self {
        Self {
            q: DB::bind_json(self.q, v),
            op: self.op,
        }
    }

    /// Runs on `pool`; how many rows changed.
    pub(crate) async fn execute(self, pool: &Pool<DB>) -> sqlx::Result<u64> {
        let started = Instant::now();
        let r = DB::execute(self.q, pool).await;
        self.op.record(started);
        r
    }

    pub(crate) async fn fetch_one(self, pool: &Pool<DB>) -> sqlx::Result<DB::Row> {
        let started = Instant::now();
        let r = DB::fetch_one(self.q, pool).await;
        self.op.record(started);
        r
    }

    pub(crate) async fn fetch_optional(self, pool: &Pool<DB>) -> sqlx::Result<Option<DB::Row>> {
        let started = Instant::now();
        let r = DB::fetch_optional(self.q, pool).await;
        self.op.record(started);
        r
    }

    pub(crate) async fn fetch_all(self, pool: &Pool<DB>) -> sqlx::Result<Vec<DB::Row>> {
        let started = Instant::now();
        let r = DB::fetch_all(self.q, pool).await;
        self.op.record(started);
        r
    }

    /// Runs on a transaction's connection; how many rows changed.
    pub(crate) async fn execute_in(self, conn: &mut DB::Connection) -> sqlx::Result<u64> {
        let started = Instant::now();
        let r = DB::execute_in(self.q, conn).await;
        self.op.record(started);
        r
    }

    pub(crate) async fn fetch_all_in(
        self,
        conn: &mut DB::Connection,
    ) -> sqlx::Result<Vec<DB::Row>> {
        let started = Instant::now();
        let r = DB::fetch_all_in(self.q, conn).await;
        self.op.record(started);
        r
    }
}
