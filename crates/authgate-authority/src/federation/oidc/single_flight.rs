//! Per-key single flight for upstream fetches: callers for the same URL
//! take turns, so when many sign-ins need the same document at once (a
//! key rotation, an expired cache) the upstream is asked once and the
//! others read what that fetch stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// Keys kept before idle ones are dropped (one per configured upstream
/// URL; a bound all the same).
const MAX_KEYS: usize = 256;

#[derive(Default)]
pub(crate) struct Flights(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Flights {
    /// Waits for this key's turn. Re-check the cache after this returns:
    /// the caller before may have fetched what is needed.
    pub(crate) async fn turn(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_KEYS {
                // Only the map holds an idle key's lock.
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_caller_per_key_at_a_time() {
        let flights = Arc::new(Flights::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (f, i, m) = (flights.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = f.turn("https://idp.test/jwks").await;
                let now = i.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                i.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // Another key does not wait for this one.
        let _a = flights.turn("a").await;
        let _b = flights.turn("b").await;
    }
}
