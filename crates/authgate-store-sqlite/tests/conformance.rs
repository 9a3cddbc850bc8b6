//! The storage conformance suite against SQLite: a database file and an
//! in-memory database.

use authgate_store::conformance;
use authgate_store_sqlite::SqliteStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_database_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("authgate.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 temp path"))
        .await
        .expect("open SQLite file");
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store = SqliteStore::open_in_memory().await.expect("open in-memory");
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_twice_on_one_file() {
    // The suite must be repeatable against one database (unique ids).
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("again.db").display());
    for _ in 0..2 {
        let store = SqliteStore::open(&url).await.expect("open SQLite URL");
        conformance::run_all(Arc::new(store)).await;
    }
}
