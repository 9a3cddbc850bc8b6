//! What every area uses: the suite's clock, fresh identifiers, checks of
//! store results and the harness that races tasks.

use crate::{StoreError, StoreResult};
use authgate_core::clock::UnixTime;
use authgate_core::random::{OsRandom, Random};
use std::fmt::Debug;
use std::sync::Arc;

/// The suite's clock: every timestamp it writes is near this instant.
pub const NOW: UnixTime = 1_900_000_000;

/// How many tasks race in the atomicity checks.
pub const RACERS: usize = 16;

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
