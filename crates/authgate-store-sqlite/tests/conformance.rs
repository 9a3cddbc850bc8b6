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
    let client = |id: &str| Client {
        client_id: id.to_owned(),
        kind: ClientKind::PreRegistered,
        metadata: ClientMetadata::default(),
        secret_hash: None,
        registration_access_token_hash: None,
        resources: vec![],
        allowed_scopes: None,
        blocked: false,
        registration_fingerprint: None,
        registration_count: 0,
        created_at: now,
        last_used_at: None,
    };
    store.insert_client(&client("c")).await.expect("client");
    let grant = Grant {
        id: "g".into(),
        client_id: "c".into(),
        user_id: None,
        resource_id: "r".into(),
        scopes: vec![],
        auth_time: now,
        created_at: now,
        last_used_at: now,
        expires_at: now + 3600,
        revoked_at: None,
    };
    store.insert_grant(&grant).await.expect("grant");
    let token = |hash: String| RefreshToken {
        token_hash: hash,
        grant_id: "g".into(),
        client_id: "c".into(),
        scopes: vec![],
        issued_at: now,
        expires_at: now + 3600,
        rotated_at: None,
        successor_hash: None,
        revoked_at: None,
    };
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
        // Whatever happened, it is all or nothing ...
        let p = store
            .get_refresh_token(&parent)
            .await
            .expect("get parent")
            .expect("parent exists");
        let s = store
            .get_refresh_token(&succ.token_hash)
            .await
            .expect("get");
        assert_eq!(
            p.successor_hash.is_some(),
            s.is_some(),
            "round {i}: torn rotation"
        );
        if s.is_some() {
            parent = succ.token_hash;
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
