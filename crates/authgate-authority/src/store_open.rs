//! Opening the configured store: SQLite by default, PostgreSQL for several
//! instances. The only place that knows which backends exist.

use authgate_store::{Store, StoreError};
use std::sync::Arc;

pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            authgate_store_sql::PostgresStore::connect(database_url).await?,
        ))
    } else {
        Ok(Arc::new(
            authgate_store_sql::SqliteStore::open(database_url).await?,
        ))
    }
}

/// Why the store could not be opened, for people: the backend's message
/// (which names the file or host and the reason) without the "storage
/// backend error" wrapping meant for logs.
pub fn open_failure(e: &StoreError) -> String {
    match e {
        StoreError::Backend(m) => format!("cannot open the database: {m}"),
        other => format!("cannot open the database: {other}"),
    }
}
