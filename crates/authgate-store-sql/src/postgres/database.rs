//! The PostgreSQL database: its connection pool, connecting (optionally
//! in a schema of its own) and applying the migrations.

use crate::{SqlStore, backend};
use authgate_store::{StoreError, StoreResult};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Connections per pool unless [`crate::PostgresStore::from_pool`] is used.
const POOL_SIZE: u32 = 10;
/// The connection pool of a PostgreSQL database (see [`crate::PostgresStore`]).
pub struct PostgresDialect {
    pub(crate) pool: PgPool,
}

fn parse_url(url: &str) -> StoreResult<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| StoreError::Backend(format!("PostgreSQL URL: {e}")))
}

/// Whether `schema` is a plain lowercase identifier we can quote safely.
fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63
}

impl SqlStore<PostgresDialect> {
    /// Connects to `url` (`postgres://user:pass@host:port/db?sslmode=…`, any
    /// form sqlx accepts) and applies pending migrations in the connection's
    /// default schema (normally `public`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = parse_url(url)?;
        let pool = match pool_options().connect_with(options.clone()).await {
            Ok(p) => p,
            Err(e) => return Err(connect_error(&options, e).await),
        };
        Self::from_pool(pool).await
    }

    /// Like [`connect`](Self::connect), but every connection uses `schema`
    /// (its `search_path`), which is created if missing. For tests (one fresh
    /// schema per run) and for several authgate deployments sharing one
    /// database. `schema` must be a lowercase identifier
    /// (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Backend(format!(
                "invalid PostgreSQL schema name {schema:?}: use [a-z_][a-z0-9_]*"
            )));
        }
        let options = parse_url(url)?;
        create_schema(&options, schema).await?;
        let options = options.options([("search_path", schema)]);
        let pool = pool_options()
            .connect_with(options)
            .await
            .map_err(backend("connecting to PostgreSQL"))?;
        Self::from_pool(pool).await
    }

    /// Wraps a pool the caller configured (size, timeouts, TLS…) and applies
    /// pending migrations through it.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| crate::migration_error("PostgreSQL", e))?;
        Ok(Self::new(PostgresDialect { pool }))
    }

    /// The connection pool (for tests and administration).
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Closes the pool, waiting for queries in flight.
    pub async fn close(&self) {
        self.db.pool.close().await;
    }
}

/// Why connecting failed. A pool that timed out says only that; one
/// direct attempt gets the reason (connection refused, host unknown, …).
async fn connect_error(options: &PgConnectOptions, e: sqlx::Error) -> StoreError {
    let e = match e {
        sqlx::Error::PoolTimedOut => {
            match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(options))
                .await
            {
                Ok(Err(direct)) => direct,
                _ => e,
            }
        }
        other => other,
    };
    StoreError::Backend(format!(
        "connecting to PostgreSQL at {}:{}: {}",
        options.get_host(),
        options.get_port(),
        crate::reason(&e)
    ))
}

/// A pooled connection idle for longer than this is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings every connection it hands out by default: one more
        // round trip to the server for every query, which was most of a
        // busy pool's waiting. A connection that was just in use is known to
        // be alive; only one that sat idle (where a restart or a firewall
        // may have dropped it) is checked first.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// `CREATE SCHEMA IF NOT EXISTS`, serialized by an advisory lock: two of
/// them running at once can otherwise fail on pg_namespace's unique index.
async fn create_schema(options: &PgConnectOptions, schema: &str) -> StoreResult<()> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .map_err(backend("connecting to PostgreSQL"))?;
    let mut tx = conn.begin().await.map_err(backend("creating schema"))?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('authgate.create_schema'))")
        .execute(&mut *tx)
        .await
        .map_err(backend("creating schema"))?;
    // `schema` is validated above: lowercase letters, digits and underscores.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
    )))
    .execute(&mut *tx)
    .await
    .map_err(backend("creating schema"))?;
    tx.commit().await.map_err(backend("creating schema"))?;
    conn.close().await.map_err(backend("creating schema"))
}
