//! authgate storage on SQL: an embedded SQLite file ([`SqliteStore`], the
//! default) or PostgreSQL ([`PostgresStore`], for several instances sharing
//! one database).
//!
//! How the crate is split:
//! - one module per aggregate (`users`, `clients`, `codes`, `grants`,
//!   `refresh`, …) holds its SQL once and implements its storage port for
//!   [`SqlStore`]`<D>`, generic over the backend's dialect (monomorphized:
//!   each backend gets its own compiled copy, nothing is decided per query
//!   at run time);
//! - `dialect` is the trait with what truly differs between the backends;
//!   `query` is the plumbing that lets one query text run on either;
//! - `sqlite/` and `postgres/` implement the dialect: opening connections,
//!   how values are stored, and the operations each does its own way. On
//!   SQLite those are its performance parts: refresh-token rotations
//!   committed in groups (`sqlite/rotation.rs`), batched refresh-context
//!   reads (`sqlite/context_reads.rs`), WAL checkpoints off the writer's
//!   path (`sqlite/checkpoint.rs`);
//! - `migrations/sqlite` and `migrations/postgres` hold each backend's
//!   schema (the DDL differs).
//!
//! Parameters are numbered (`$1`, `$2`…) in every query: sqlx's SQLite
//! driver binds `$N` to the N-th value, as PostgreSQL does.
//!
//! Deleting a client deletes its authorization codes, grants (with their
//! refresh tokens) and consents (foreign keys with `ON DELETE CASCADE`);
//! grants, codes and consents must name a stored client, and refresh tokens a
//! stored grant.

use async_trait::async_trait;
use authgate_store::{Store, StoreError, StoreResult};
use dialect::Dialect;
use query::sql;
use std::sync::atomic::{AtomicU64, Ordering};

mod audit;
mod clients;
mod codec;
mod codes;
mod connections;
mod consents;
mod dialect;
mod facts;
mod grants;
mod keys;
mod mfa;
mod orgs;
mod outbox;
mod passkeys;
mod postgres;
mod query;
mod refresh;
mod resources;
mod revocations;
mod sessions;
mod sqlite;
mod users;
mod values;

pub use postgres::PostgresDialect;
pub use sqlite::SqliteDialect;

/// The SQLite implementation of [`Store`]: see [`SqliteStore::open`].
pub type SqliteStore = SqlStore<SqliteDialect>;

/// The PostgreSQL implementation of [`Store`]: see
/// [`PostgresStore::connect`].
pub type PostgresStore = SqlStore<PostgresDialect>;

/// Expired nonces are deleted once per this many recorded nonces.
const NONCE_SWEEP_EVERY: u64 = 1024;

/// A [`Store`] on a SQL database; `D` is the backend ([`SqliteDialect`] or
/// [`PostgresDialect`]).
pub struct SqlStore<D> {
    /// The backend's connections and its own machinery.
    pub(crate) db: D,
    /// Counts recorded nonces, to sweep expired ones now and then.
    nonce_uses: AtomicU64,
}

impl<D> SqlStore<D> {
    pub(crate) fn new(db: D) -> Self {
        Self {
            db,
            nonce_uses: AtomicU64::new(0),
        }
    }

    /// True once every [`NONCE_SWEEP_EVERY`] recorded nonces.
    pub(crate) fn nonce_sweep_due(&self) -> bool {
        self.nonce_uses.fetch_add(1, Ordering::Relaxed) % NONCE_SWEEP_EVERY == NONCE_SWEEP_EVERY - 1
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &D::NAME)
            .finish_non_exhaustive()
    }
}

fn backend(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Backend(format!("{what}: {}", reason(&e)))
}

/// A failed migration, as [`reason`] words the database's part.
pub(crate) fn migration_error(backend: &str, e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    let text = match &e {
        MigrateError::Execute(inner) => reason(inner),
        MigrateError::ExecuteMigration(inner, version) => {
            format!("migration {version}: {}", reason(inner))
        }
        other => other.to_string(),
    };
    StoreError::Backend(format!("{backend} migrations: {text}"))
}

/// What went wrong, for people: the database's own message (PostgreSQL's
/// `Display` appends the line of its C source that raised it, e.g. "role
/// \"x\" does not exist at line 768", which tells an operator nothing),
/// else sqlx's text.
pub(crate) fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        other => other.to_string(),
    }
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D> {
    async fn ping(&self) -> StoreResult<()> {
        sql::<D::Db>("SELECT 1")
            .execute(self.db.reader())
            .await
            .map(|_| ())
            .map_err(backend("ping"))
    }

    fn backend(&self) -> &'static str {
        D::NAME
    }

    fn pool_usage(&self) -> Vec<authgate_store::PoolUsage> {
        let (w, r) = (self.db.writer(), self.db.reader());
        let usage = |pool, p: &sqlx::Pool<D::Db>| authgate_store::PoolUsage {
            pool,
            size: p.size(),
            idle: p.num_idle(),
        };
        // PostgreSQL reads and writes on one pool: report it once.
        if std::ptr::eq(w, r) {
            vec![usage("main", w)]
        } else {
            vec![usage("writer", w), usage("reader", r)]
        }
    }

    async fn get_refresh_token_context(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<authgate_core::model::RefreshTokenContext>> {
        self.db.refresh_token_context(token_hash).await
    }
}
