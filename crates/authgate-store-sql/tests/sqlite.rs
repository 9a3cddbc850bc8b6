//! The storage conformance suite against SQLite: a database file and an
//! in-memory database.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_store::conformance;
use authgate_store_sql::SqliteStore;
use std::sync::Arc;

mod fixtures;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_signing_key_is_created_once() {
    // Two stores on one file stand in for two processes sharing it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.db");
    let path = path.to_str().expect("utf-8 temp path");
    let a = SqliteStore::open(path).await.expect("open SQLite file");
    let b = SqliteStore::open(path)
        .await
        .expect("open SQLite file again");
    conformance::first_signing_key_once(vec![Arc::new(a), Arc::new(b)]).await;
}

/// Rotations abandoned half-way (a client hung up) must not leave the writer
/// connection inside an open transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_rotations_leave_the_writer_clean() {
    use authgate_core::model::*;
    use authgate_store::{ClientStore, GrantStore, RefreshTokenStore};
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(dir.path().join("cancel.db").to_str().expect("path"))
            .await
            .expect("open"),
    );
    let now = conformance::NOW;
    let client = fixtures::client;
    store.insert_client(&client("c")).await.expect("client");
    let grant = Grant {
        user_id: None,
        scopes: vec![],
        expires_at: now + 3600,
        ..fixtures::grant("g", "c")
    };
    store.insert_grant(&grant).await.expect("grant");
    let token = |hash: String| fixtures::token(&hash, &grant);
    let mut parent = "t-0".to_string();
    store
        .insert_refresh_token(&token(parent.clone()))
        .await
        .expect("token");
    for i in 1..=200u64 {
        let succ = token(format!("t-{i}"));
        // Abandon the rotation after a varying short while.
        let budget = Duration::from_micros(i * 7 % 300);
        let _ = tokio::time::timeout(budget, store.rotate_refresh_token(&parent, &succ, now)).await;
        // Whatever happened (a cancelled rotation may also commit a moment
        // later), it is all or nothing: a parent marked rotated has its
        // successor stored.
        let p = store
            .get_refresh_token(&parent)
            .await
            .expect("get parent")
            .expect("parent exists");
        if let Some(h) = p.successor_hash {
            let s = store.get_refresh_token(&h).await.expect("get successor");
            assert!(s.is_some(), "round {i}: torn rotation (successor missing)");
            parent = h;
        }
        // ... and the writer commits what comes next, visibly to readers.
        let id = format!("c-{i}");
        store
            .insert_client(&client(&id))
            .await
            .expect("insert after cancel");
        assert!(
            store.get_client(&id).await.expect("get").is_some(),
            "round {i}: a write after a cancelled rotation is not visible (open transaction)"
        );
    }
}

#[tokio::test]
async fn open_accepts_urls_and_paths_and_persists() {
    use authgate_store::{ResourceStore, StoreError};

    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().display().to_string();
    for spec in [
        format!("{base}/plain.db"),
        format!("sqlite:{base}/colon.db"),
        format!("sqlite://{base}/slashes.db"),
        format!("sqlite://{base}/new/folder/nested.db"),
    ] {
        let store = SqliteStore::open(&spec).await.expect("open");
        let r = authgate_core::model::Resource {
            id: "weather".into(),
            name: "Weather".into(),
            uri: "https://mcp.example.com/weather".into(),
            scopes: vec![],
            default_scopes: vec![],
            access_token_ttl_secs: 60,
            refresh_token_idle_ttl_secs: 60,
            refresh_token_absolute_ttl_secs: 60,
            allow_dynamic_registration: true,
            allow_client_id_metadata_documents: true,
            allow_dynamic_client_credentials: false,
            documentation_uri: None,
            logo_uri: None,
            signup: Default::default(),
            created_at: 1,
            updated_at: 1,
        };
        store.upsert_resource(&r).await.expect("write");
        store.close().await;
        let file = spec
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .to_owned();
        assert!(std::path::Path::new(&file).exists(), "{spec}: file created");
        let again = SqliteStore::open(&spec).await.expect("reopen");
        assert_eq!(
            again.get_resource("weather").await.expect("read"),
            Some(r),
            "{spec}: data persists across opens"
        );
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(
                &mut <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
                    "sqlite://{file}"
                ))
                .await
                .expect("raw"),
            )
            .await
            .expect("journal_mode");
        assert_eq!(mode, "wal", "{spec}: WAL journal");
    }
    assert!(matches!(
        SqliteStore::open("").await,
        Err(StoreError::Backend(_))
    ));
    let bad = format!("{base}/plain.db/not-a-dir/x.db");
    assert!(matches!(
        SqliteStore::open(&bad).await,
        Err(StoreError::Backend(_))
    ));
}

/// Rows the application did not write (bad enum text, malformed JSON) are
/// backend errors, never panics.
#[tokio::test]
async fn corrupt_rows_are_backend_errors() {
    use authgate_store::{ClientStore, StoreError};

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("corrupt.db");
    let store = SqliteStore::open(file.to_str().expect("path"))
        .await
        .expect("open");
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        file.display()
    ))
    .await
    .expect("raw connection");
    for (id, kind, metadata) in [
        ("bad-kind", "bogus", "{}"),
        ("bad-json", "dynamic", "{not json"),
        ("bad-shape", "dynamic", "[1, 2]"),
    ] {
        sqlx::query(
            "INSERT INTO clients (client_id, kind, metadata, resources, blocked, \
             registration_count, created_at) VALUES (?, ?, ?, '[]', 0, 0, 0)",
        )
        .bind(id)
        .bind(kind)
        .bind(metadata)
        .execute(&mut raw)
        .await
        .expect("raw insert");
        assert!(
            matches!(store.get_client(id).await, Err(StoreError::Backend(_))),
            "{id}: expected a backend error"
        );
    }
    assert!(matches!(
        store.list_clients().await,
        Err(StoreError::Backend(_))
    ));
}

/// Committed rows reach the database file itself shortly after the commit:
/// the background checkpointer copies them out of the WAL, long before the
/// writer's own automatic checkpoint (thousands of pages) would. Closing
/// the store stops it and removes the WAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wal_is_checkpointed_in_the_background() {
    use authgate_core::model::AuditEvent;
    use authgate_store::AuditStore;
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wal.db");
    let store = SqliteStore::open(path.to_str().expect("path"))
        .await
        .expect("open");
    let events: Vec<AuditEvent> = (0..50)
        .map(|i| AuditEvent {
            id: 0,
            at: conformance::NOW + i,
            event: "test.event".into(),
            actor: None,
            client_id: None,
            resource_id: None,
            address: None,
            outcome: "ok".into(),
            detail: serde_json::json!({"i": i}),
        })
        .collect();
    store.append_audit_events(events).await.expect("append");

    // `immutable=1` reads the database file and ignores the WAL.
    let file_only = sqlx::sqlite::SqliteConnectOptions::from_str(&format!(
        "sqlite://{}?immutable=1",
        path.display()
    ))
    .expect("options");
    let mut in_file = 0i64;
    for _ in 0..50 {
        let mut conn = file_only.connect().await.expect("read-only connection");
        // Until the first checkpoint even the tables are only in the WAL.
        in_file =
            sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE event = 'test.event'")
                .fetch_one(&mut conn)
                .await
                .unwrap_or(0);
        conn.close().await.expect("close");
        if in_file == 50 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(in_file, 50, "the rows reached the database file within 5 s");

    store.close().await;
    let wal = dir.path().join("wal.db-wal");
    assert!(!wal.exists(), "closing the store removes the WAL");
}
