//! The storage conformance suite against PostgreSQL.
//!
//! Needs a server: `AUTHGATE_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. These tests fail (they never
//! skip) when it cannot be reached. Each test works in a fresh schema that it
//! drops at the end.

// Integration tests: a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_core::model::*;
use authgate_store::conformance::{self, NOW, unique};
use authgate_store::{ClientStore, Store};
use authgate_store_sql::PostgresStore;
use fixtures::{grant, token};
use sqlx::Connection;
use std::future::Future;
use std::sync::Arc;

mod fixtures;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("AUTHGATE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

async fn connect(schema: &str) -> PostgresStore {
    let url = url();
    match PostgresStore::connect_with_schema(&url, schema).await {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot connect to PostgreSQL at {url} (set AUTHGATE_TEST_POSTGRES_URL; \
             these tests never skip): {e}"
        ),
    }
}

async fn drop_schema(schema: &str) {
    let url = url();
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("dropping schema {schema}: {e}"));
}

/// Runs `body` with a fresh schema name, drops the schema afterwards (also
/// when `body` panicked) and re-raises the panic.
async fn in_fresh_schema<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let schema = unique("authgate_test").replace('-', "_");
    let outcome = tokio::spawn(body(schema.clone())).await;
    drop_schema(&schema).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    in_fresh_schema(|schema| async move {
        let store = connect(&schema).await;
        assert_eq!(store.backend(), "postgres");
        conformance::run_all(Arc::new(store)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_runs_again_on_the_same_schema() {
    in_fresh_schema(|schema| async move {
        for _ in 0..2 {
            let store = connect(&schema).await;
            conformance::run_all(Arc::new(store)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_migrate_once() {
    in_fresh_schema(|schema| async move {
        let mut starts = vec![];
        for _ in 0..4 {
            let schema = schema.clone();
            starts.push(tokio::spawn(async move { connect(&schema).await }));
        }
        let mut stores = vec![];
        for s in starts {
            stores.push(s.await.expect("start task"));
        }
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(stores[0].pool())
            .await
            .expect("count migrations");
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .expect("migrations dir")
            .count() as i64;
        assert_eq!(applied, files, "each migration applied once");
        for s in &stores {
            s.ping().await.expect("ping");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_create_one_first_key() {
    in_fresh_schema(|schema| async move {
        let mut instances: Vec<Arc<dyn Store>> = vec![];
        for _ in 0..4 {
            instances.push(Arc::new(connect(&schema).await));
        }
        conformance::first_signing_key_once(instances).await;
    })
    .await;
}

/// A dynamic client, as registered once.
fn client(id: &str) -> Client {
    Client {
        kind: ClientKind::Dynamic,
        registration_count: 1,
        ..fixtures::client(id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_see_each_others_writes() {
    in_fresh_schema(|schema| async move {
        let a: Arc<dyn Store> = Arc::new(connect(&schema).await);
        let b: Arc<dyn Store> = Arc::new(connect(&schema).await);
        let cid = unique("cl");
        a.insert_client(&client(&cid)).await.expect("insert client");
        let g = grant(&unique("g"), &cid);
        a.insert_grant(&g).await.expect("insert grant");
        let parent = token(&unique("rt"), &g);
        a.insert_refresh_token(&parent).await.expect("insert token");

        let s1 = token(&unique("rt"), &g);
        assert_eq!(
            a.rotate_refresh_token(&parent.token_hash, &s1, NOW + 1)
                .await
                .expect("rotate via a"),
            RotationOutcome::Rotated
        );
        let s2 = token(&unique("rt"), &g);
        assert_eq!(
            b.rotate_refresh_token(&parent.token_hash, &s2, NOW + 2)
                .await
                .expect("rotate via b"),
            RotationOutcome::AlreadyRotated {
                rotated_at: NOW + 1,
                successor_hash: s1.token_hash.clone()
            },
            "a token rotated through one instance is AlreadyRotated through the other"
        );
        assert_eq!(
            b.get_refresh_token(&s1.token_hash).await.expect("get"),
            Some(s1.clone())
        );

        // Racing across the two instances: still exactly one winner.
        let parent = token(&unique("rt"), &g);
        a.insert_refresh_token(&parent).await.expect("insert token");
        let mut tasks = vec![];
        for i in 0..16 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let parent = parent.token_hash.clone();
            let succ = token(&unique("rt"), &g);
            tasks.push(tokio::spawn(async move {
                store.rotate_refresh_token(&parent, &succ, NOW + 3).await
            }));
        }
        let mut rotated = 0;
        for t in tasks {
            if t.await.expect("task").expect("rotate") == RotationOutcome::Rotated {
                rotated += 1;
            }
        }
        assert_eq!(rotated, 1, "exactly one rotation wins across instances");

        // Revocation through one instance is seen by the other.
        assert!(b.revoke_grant(&g.id, NOW + 4).await.expect("revoke"));
        let s3 = token(&unique("rt"), &g);
        assert_eq!(
            a.rotate_refresh_token(&s1.token_hash, &s3, NOW + 5)
                .await
                .expect("rotate"),
            RotationOutcome::NotFound
        );
    })
    .await;
}

#[tokio::test]
async fn invalid_schema_name_is_refused() {
    let err = PostgresStore::connect_with_schema(&url(), "Bad-Name; DROP")
        .await
        .expect_err("invalid schema name");
    assert!(matches!(err, authgate_store::StoreError::Backend(_)));
}

/// Rows the application did not write (bad enum text, JSON of the wrong
/// shape) are backend errors, never panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_backend_errors() {
    in_fresh_schema(|schema| async move {
        let store = connect(&schema).await;
        for (id, kind, metadata) in [
            ("bad-kind", "bogus", "{}"),
            ("bad-shape", "dynamic", "[1, 2]"),
            ("bad-field", "dynamic", r#"{"redirect_uris": 7}"#),
        ] {
            sqlx::query(
                "INSERT INTO clients (client_id, kind, metadata, resources, blocked, \
                 registration_count, created_at) VALUES ($1, $2, $3::jsonb, '{}', false, 0, 0)",
            )
            .bind(id)
            .bind(kind)
            .bind(metadata)
            .execute(store.pool())
            .await
            .expect("raw insert");
            assert!(
                matches!(
                    store.get_client(id).await,
                    Err(authgate_store::StoreError::Backend(_))
                ),
                "{id}: expected a backend error"
            );
        }
        assert!(matches!(
            store.list_clients().await,
            Err(authgate_store::StoreError::Backend(_))
        ));
    })
    .await;
}
