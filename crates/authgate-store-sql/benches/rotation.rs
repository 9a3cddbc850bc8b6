//! Refresh-rotation throughput of the store alone, on a SQLite file (or in
//! memory with `BENCH_MEMORY=1`), without HTTP: a measurement, so a bench
//! target rather than a test. Run with
//! `cargo bench -p authgate-store-sql --bench rotation`.
//! The end-to-end refresh scenario (HTTP, every rotation checked) is in
//! `bench/run`.

// A benchmark: a failed setup stops the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_core::model::*;
use authgate_store::{ClientStore, GrantStore, RefreshTokenStore};
use authgate_store_sql::SqliteStore;
use std::sync::Arc;
use std::time::Instant;

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

const NOW: i64 = 1_900_000_000;

fn token(hash: String, grant_id: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash,
        grant_id: grant_id.to_owned(),
        client_id: "bench-client".into(),
        scopes: vec!["weather:read".into(), "offline_access".into()],
        issued_at: NOW,
        expires_at: NOW + 86_400,
        rotated_at: None,
        successor_hash: None,
        revoked_at: None,
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(refresh_rotations_per_second());
}

async fn refresh_rotations_per_second() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(if std::env::var("BENCH_MEMORY").is_ok() {
        SqliteStore::open_in_memory().await.expect("open")
    } else {
        SqliteStore::open(dir.path().join("bench.db").to_str().expect("path"))
            .await
            .expect("open")
    });
    store
        .insert_client(&fixtures::client("bench-client"))
        .await
        .expect("client");

    // 32 independent refresh families, each rotated in a loop by its own task.
    const FAMILIES: usize = 32;
    const ROTATIONS: usize = 500;
    let mut heads = vec![];
    for f in 0..FAMILIES {
        let gid = format!("g{f}");
        store
            .insert_grant(&Grant {
                id: gid.clone(),
                client_id: "bench-client".into(),
                user_id: Some(format!("u{f}")),
                resource_id: "weather".into(),
                scopes: vec!["weather:read".into()],
                auth_time: NOW,
                created_at: NOW,
                last_used_at: NOW,
                expires_at: NOW + 90 * 86_400,
                revoked_at: None,
                auth: Default::default(),
            })
            .await
            .expect("grant");
        let t = token(format!("f{f}-0"), &gid);
        store.insert_refresh_token(&t).await.expect("token");
        heads.push((gid, t.token_hash));
    }

    // Sequential: one task, rotate only (writer latency).
    {
        let gid = "g0".to_string();
        let mut parent = "f0-0".to_string();
        let n = 3000;
        let start = Instant::now();
        for i in 1..=n {
            let succ = token(format!("seq-{i}"), &gid);
            let out = store
                .rotate_refresh_token(&parent, &succ, NOW)
                .await
                .expect("rotate");
            assert_eq!(out, RotationOutcome::Rotated);
            parent = succ.token_hash;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sequential: {n} rotations in {secs:.2}s: {:.0}/s",
            n as f64 / secs
        );
        heads[0].1 = parent;
    }

    let start = Instant::now();
    let mut tasks = vec![];
    for (f, (gid, head)) in heads.into_iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut parent = head;
            for i in 1..=ROTATIONS {
                // What the token endpoint does per refresh: read, rotate.
                let got = store.get_refresh_token(&parent).await.expect("get");
                assert!(got.is_some());
                let succ = token(format!("f{f}-{i}"), &gid);
                let out = store
                    .rotate_refresh_token(&parent, &succ, NOW + i as i64)
                    .await
                    .expect("rotate");
                assert_eq!(out, RotationOutcome::Rotated);
                parent = succ.token_hash;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = start.elapsed().as_secs_f64();
    let total = (FAMILIES * ROTATIONS) as f64;
    println!(
        "{total} rotations (get + rotate) by {FAMILIES} tasks in {secs:.2}s: {:.0}/s",
        total / secs
    );
}
