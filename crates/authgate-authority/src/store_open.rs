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
