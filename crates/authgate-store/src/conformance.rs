//! The conformance suite every storage backend passes.
//!
//! A backend's integration test calls [`run_all`] (or one area at a time)
//! with a fresh store:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     let store = std::sync::Arc::new(MyStore::open(...).await.unwrap());
//!     authgate_store::conformance::run_all(store).await;
//! }
//! ```
//!
//! The suite panics (with the area and the broken rule in the message) on the
//! first violation. Every identifier it writes carries a random suffix, so it
//! can run again and again against one database; the only global effects are
//! the purge and reap calls, which only remove rows that are expired (or
//! unused) long before the suite's own fixed clock, and
//! `retire_signing_keys_except`, which retires every other signing key. Run it
//! against test databases only.
//!
//! The concurrency checks spawn tasks: run the suite on a multi-threaded
//! tokio runtime so they actually race.

// Test support, only called from the backends' tests: a broken rule panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{Store, StoreError, StoreResult};
use authgate_core::clock::UnixTime;
use authgate_core::random::{OsRandom, Random};
use std::fmt::Debug;
use std::sync::Arc;

mod audit;
mod catalog;
mod sessions;
mod tokens;

pub use audit::audit;
pub use catalog::{clients, first_signing_key_once, resources, signing_keys, users};
pub use sessions::{access_token_revocations, consents, nonces, sessions};
pub use tokens::{codes, grants, refresh_tokens};

/// The suite's clock: every timestamp it writes is near this instant.
pub const NOW: UnixTime = 1_900_000_000;

/// How many tasks race in the atomicity checks.
pub const RACERS: usize = 16;

/// Runs every area, in order. Panics on the first violation.
pub async fn run_all(store: Arc<dyn Store>) {
    ping(store.clone()).await;
    resources(store.clone()).await;
    clients(store.clone()).await;
    users(store.clone()).await;
    signing_keys(store.clone()).await;
    codes(store.clone()).await;
    grants(store.clone()).await;
    refresh_tokens(store.clone()).await;
    consents(store.clone()).await;
    access_token_revocations(store.clone()).await;
    sessions(store.clone()).await;
    nonces(store.clone()).await;
    audit(store).await;
}

/// `ping` answers and `backend` names the backend.
pub async fn ping(store: Arc<dyn Store>) {
    ok(store.ping().await, "ping");
    assert!(
        !store.backend().is_empty(),
        "backend() must name the backend"
    );
}

/// A fresh identifier: `prefix` plus 16 random hex digits.
pub fn unique(prefix: &str) -> String {
    let mut b = [0u8; 8];
    OsRandom::new()
        .fill(&mut b)
        .expect("the conformance suite needs a working random generator");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// Unwraps a store result, panicking with the operation's name.
#[track_caller]
pub(crate) fn ok<T>(r: StoreResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected store error: {e}"),
    }
}

/// Asserts the result is `Err(Conflict)`.
#[track_caller]
pub(crate) fn conflict<T: Debug>(r: StoreResult<T>, what: &str) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

/// Keeps the items whose key is in `ours`, in the order the store gave.
pub(crate) fn only_ours<T, F: Fn(&T) -> &str>(items: Vec<T>, ours: &[&str], key: F) -> Vec<T> {
    items
        .into_iter()
        .filter(|i| ours.contains(&key(i)))
        .collect()
}

pub(crate) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Runs `f(i)` for `i in 0..RACERS` in spawned tasks that start together, and
/// returns the results in `i` order.
pub(crate) async fn race<T, F, Fut>(f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut handles = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let fut = f(i);
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(RACERS);
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => panic!("a racing task failed: {e}"),
        }
    }
    out
}
