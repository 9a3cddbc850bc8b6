//! Remembered fetch failures ([`NegativeCache`]), shared by the fetcher
//! and the caches of metadata documents and client JWKS.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Most entries a [`NegativeCache`] keeps; beyond it expired ones go, and if
/// none has expired, all (a flood of distinct failing URLs cannot grow it).
const MAX_NEGATIVE_ENTRIES: usize = 10_000;

/// Failures remembered for a short time, by key (a URL), so the same
/// failing fetch is not repeated on every request that needs it.
pub struct NegativeCache<E> {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, E)>>,
}

impl<E: Clone> NegativeCache<E> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The failure remembered for `key`, while fresh.
    pub fn get(&self, key: &str) -> Option<E> {
        if self.ttl.is_zero() {
            return None;
        }
        let g = self.entries.read().ok()?;
        let (until, e) = g.get(key)?;
        (*until > Instant::now()).then(|| e.clone())
    }

    pub fn put(&self, key: &str, e: E) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        if let Ok(mut g) = self.entries.write() {
            if g.len() >= MAX_NEGATIVE_ENTRIES {
                g.retain(|_, (until, _)| *until > now);
                if g.len() >= MAX_NEGATIVE_ENTRIES {
                    g.clear();
                }
            }
            g.insert(key.to_owned(), (now + self.ttl, e));
        }
    }

    pub fn forget(&self, key: &str) {
        if self.ttl.is_zero() {
            return;
        }
        // Read first: the common case (nothing remembered) takes no write lock.
        if self.entries.read().is_ok_and(|g| !g.contains_key(key)) {
            return;
        }
        if let Ok(mut g) = self.entries.write() {
            g.remove(key);
        }
    }
}
