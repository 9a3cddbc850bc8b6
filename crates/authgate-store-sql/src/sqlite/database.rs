//! The SQLite database: its writer and reader connections, the machinery
//! in front of them, and opening and closing it.

use super::checkpoint::{self, Checkpointer};
use super::context_reads::ContextReads;
use super::rotation::Rotator;
use crate::{SqlStore, backend};
use authgate_store::{StoreError, StoreResult};
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// How many connections serve reads of a database file: one per core, 2 to 8.
fn readers() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2)
        .clamp(2, 8)
}
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The connections of a SQLite database and the machinery in front of them
/// (see [`crate::SqliteStore`]).
pub struct SqliteDialect {
    /// The only connection that writes (one connection: writers queue here).
    pub(crate) writer: SqlitePool,
    /// Connections for reads (the writer pool itself for in-memory databases).
    pub(crate) reader: SqlitePool,
    /// Keeps an in-memory database alive whatever the pool does with its
    /// connection.
    _keeper: Option<Mutex<SqliteConnection>>,
    /// Refresh-token rotations, committed in groups (see `rotation`).
    pub(crate) rotator: Rotator,
    /// The batching task in front of refresh-context reads.
    pub(crate) context_reads: ContextReads,
    /// WAL checkpoints off the writer's path (database files only).
    checkpointer: Mutex<Option<Checkpointer>>,
}

/// Why the database file at `path` cannot be opened, naming it: the
/// operating system's reason when it refuses the file (a directory, no
/// permission), else SQLite's ("file is not a database").
fn open_error(path: &std::path::Path, e: &sqlx::Error) -> StoreError {
    let os = if path.is_dir() {
        Some("it is a directory".to_owned())
    } else if path.exists() {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .err()
            .map(|io| io.to_string())
    } else {
        None
    };
    StoreError::Backend(format!(
        "SQLite file {}: {}",
        path.display(),
        os.unwrap_or_else(|| crate::reason(e))
    ))
}

impl SqlStore<SqliteDialect> {
    /// Opens the database at `url_or_path`, creating the file if missing, and
    /// applies pending migrations.
    ///
    /// Accepted forms: `sqlite://path/to/file.db`, `sqlite:path/to/file.db`
    /// (both may carry SQLite URI parameters such as `?mode=ro`;
    /// `sqlite:///abs/path.db` is absolute) and a plain filesystem path. A
    /// missing parent folder is created. `sqlite::memory:` (or `:memory:`) opens a private
    /// in-memory database, as [`crate::SqliteStore::open_in_memory`] does.
    pub async fn open(url_or_path: &str) -> Result<Self, StoreError> {
        let spec = url_or_path.trim();
        if spec.is_empty() {
            return Err(StoreError::Backend("empty SQLite database path".into()));
        }
        if spec == ":memory:" || spec.contains(":memory:") || spec.contains("mode=memory") {
            return Self::open_in_memory().await;
        }
        let options = if spec.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(spec).map_err(backend("SQLite URL"))?
        } else {
            SqliteConnectOptions::new().filename(spec)
        };
        // Create the database's folder too, so `data/authgate.db` just works.
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("creating folder {}: {e}", dir.display()))
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // Most checkpoint work runs on a connection of its own; the
            // writer's own (automatic) checkpoint finishes what is left and
            // lets the WAL start over (see `checkpoint`).
            .pragma("wal_autocheckpoint", checkpoint::WRITER_CHECKPOINT_PAGES)
            // Room for the batched rotation statements (seven batch sizes)
            // beside everything else, so none is re-prepared.
            .statement_cache_capacity(256);

        let writer = one_connection()
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(options.get_filename(), &e))?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(readers())
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().create_if_missing(false))
            .await
            .map_err(backend("opening SQLite database for reads"))?;
        let checkpointer = Checkpointer::start(options.create_if_missing(false));
        Ok(Self::new(SqliteDialect {
            rotator: Rotator::start(writer.clone()),
            context_reads: ContextReads::start(reader.clone()),
            writer,
            reader,
            _keeper: None,
            checkpointer: Mutex::new(checkpointer),
        }))
    }

    /// A private, empty in-memory database (for tests). It lives as long as
    /// the store; one connection serves reads and writes.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        // `sqlite::memory:` names a fresh shared-cache database, so the
        // keeper connection and the pool's connection see the same data.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend("SQLite URL"))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let keeper = options
            .connect()
            .await
            .map_err(backend("opening in-memory SQLite database"))?;
        let pool = one_connection()
            .connect_with(options)
            .await
            .map_err(backend("opening in-memory SQLite database"))?;
        migrate(&pool).await?;
        Ok(Self::new(SqliteDialect {
            rotator: Rotator::start(pool.clone()),
            context_reads: ContextReads::start(pool.clone()),
            writer: pool.clone(),
            reader: pool,
            _keeper: Some(Mutex::new(keeper)),
            checkpointer: Mutex::new(None),
        }))
    }

    /// Closes the pools, waiting for queries in flight.
    pub async fn close(&self) {
        let db = &self.db;
        let checkpointer = db.checkpointer.lock().ok().and_then(|mut c| c.take());
        if let Some(c) = checkpointer {
            c.stop().await;
        }
        db.writer.close().await;
        db.reader.close().await;
    }
}

/// A pool of one connection, kept open for the store's life (the writer,
/// or the only connection of an in-memory database).
fn one_connection() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        // sqlx pings each connection it hands out by default; for a
        // local file that is only a round trip to the connection's
        // thread and back (two thread wake-ups) before every query.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .idle_timeout(None)
        .max_lifetime(None)
}

async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::migrate!("./migrations/sqlite")
        .run(pool)
        .await
        .map_err(|e| crate::migration_error("SQLite", e))
}
