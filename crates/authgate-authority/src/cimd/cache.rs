//! The in-memory cache of checked metadata documents ([`DocumentCache`]).

use crate::outbound::NegativeCache;
use authgate_core::model::Client;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Most cached documents.
const MAX_CACHED_DOCUMENTS: usize = 10_000;
/// Successfully fetched documents, by URL; and, briefly, documents that
/// were refused (the fetcher remembers failed fetches itself), so a broken
/// document is not fetched again on every request that names it.
pub struct DocumentCache {
    entries: RwLock<HashMap<String, (Instant, Arc<Client>)>>,
    pub(super) refused: NegativeCache<String>,
    /// The number of stored metadata document clients and when it was
    /// counted (the cap check trusts it for [`STORED_COUNT_TTL`]).
    pub(super) stored: std::sync::Mutex<Option<(i64, Instant)>>,
}

/// How long a count of stored metadata document clients is trusted.
pub(super) const STORED_COUNT_TTL: Duration = Duration::from_secs(10);

impl DocumentCache {
    /// `negative_ttl`: how long a refused document is remembered.
    pub fn new(negative_ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            refused: NegativeCache::new(negative_ttl),
            stored: std::sync::Mutex::new(None),
        }
    }

    /// The last checked version of a document, fresh or not (a client that
    /// proved itself is stored from it).
    pub(super) fn get_even_stale(&self, url: &str) -> Option<Arc<Client>> {
        let g = self.entries.read().ok()?;
        g.get(url).map(|(_, c)| c.clone())
    }

    pub(super) fn get(&self, url: &str) -> Option<Arc<Client>> {
        let g = self.entries.read().ok()?;
        let (expires, c) = g.get(url)?;
        (*expires > Instant::now()).then(|| c.clone())
    }

    pub(super) fn put(&self, url: &str, ttl: Duration, c: Arc<Client>) {
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        if let Ok(mut g) = self.entries.write() {
            if g.len() >= MAX_CACHED_DOCUMENTS {
                g.retain(|_, (exp, _)| *exp > now);
                if g.len() >= MAX_CACHED_DOCUMENTS {
                    g.clear();
                }
            }
            g.insert(url.to_owned(), (now + ttl, c));
        }
    }

    /// Forgets a document (after an administrator blocked or removed it).
    pub fn forget(&self, url: &str) {
        if let Ok(mut g) = self.entries.write() {
            g.remove(url);
        }
        self.refused.forget(url);
    }
}
