//! Short-lived in-memory caches of resources and clients for the hot paths
//! (token issuance), plus batched "last used" bookkeeping so that issuing a
//! token does not need a store write.
//!
//! Entries live a couple of seconds: a change made by the CLI or another
//! instance is seen everywhere within that time, and writes made through
//! this process invalidate immediately.

use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, Resource};
use authgate_core::resource_uri;
use authgate_store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(2);
const MAX_CLIENTS: usize = 10_000;

/// All resources, as loaded at an instant: a new `Arc` each time they are
/// reloaded (the discovery cache relies on that).
pub type ResourceList = Arc<Vec<Arc<Resource>>>;
/// A client lookup (including "no such client") as of an instant.
type ClientEntry = (Instant, Option<Arc<Client>>);

pub struct Registry {
    resources: RwLock<Option<(Instant, ResourceList)>>,
    clients: RwLock<HashMap<String, ClientEntry>>,
    used: Mutex<HashMap<String, UnixTime>>,
    grants_used: Mutex<HashMap<String, UnixTime>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self {
            resources: RwLock::new(None),
            clients: RwLock::new(HashMap::new()),
            used: Mutex::new(HashMap::new()),
            grants_used: Mutex::new(HashMap::new()),
        }
    }

    pub async fn resources(&self, store: &dyn Store) -> StoreResult<ResourceList> {
        if let Ok(g) = self.resources.read()
            && let Some((at, list)) = g.as_ref()
            && at.elapsed() < TTL
        {
            return Ok(list.clone());
        }
        let list: ResourceList = Arc::new(
            store
                .list_resources()
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        if let Ok(mut g) = self.resources.write() {
            *g = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    pub async fn resource_by_id(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> StoreResult<Option<Arc<Resource>>> {
        Ok(self
            .resources(store)
            .await?
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    /// The registered resource a presented indicator names (tolerant compare).
    pub async fn resource_by_uri(
        &self,
        store: &dyn Store,
        uri: &str,
    ) -> StoreResult<Option<Arc<Resource>>> {
        let list = self.resources(store).await?;
        // Clients nearly always send the registered URL as it is: compare
        // strings first and parse URLs only for the tolerant match.
        if let Some(r) = list.iter().find(|r| r.uri == uri) {
            return Ok(Some(r.clone()));
        }
        Ok(list
            .iter()
            .find(|r| resource_uri::matches(uri, &r.uri))
            .cloned())
    }

    pub async fn client(
        &self,
        store: &dyn Store,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Client>>> {
        if let Ok(g) = self.clients.read()
            && let Some((at, c)) = g.get(client_id)
            && at.elapsed() < TTL
        {
            return Ok(c.clone());
        }
        let c = store.get_client(client_id).await?.map(Arc::new);
        if let Ok(mut g) = self.clients.write() {
            if g.len() >= MAX_CLIENTS {
                g.retain(|_, (at, _)| at.elapsed() < TTL);
                if g.len() >= MAX_CLIENTS {
                    g.clear();
                }
            }
            g.insert(client_id.to_owned(), (Instant::now(), c.clone()));
        }
        Ok(c)
    }

    pub fn invalidate_client(&self, client_id: &str) {
        if let Ok(mut g) = self.clients.write() {
            g.remove(client_id);
        }
    }

    pub fn invalidate_resources(&self) {
        if let Ok(mut g) = self.resources.write() {
            *g = None;
        }
    }

    /// Notes that a client was used; written to the store in batches.
    pub fn mark_used(&self, client_id: &str, now: UnixTime) {
        if let Ok(mut g) = self.used.lock() {
            g.insert(client_id.to_owned(), now);
        }
    }

    /// Notes that a grant was used (a refresh); written in batches so the
    /// refresh path has one write (the rotation) instead of two.
    pub fn mark_grant_used(&self, grant_id: &str, now: UnixTime) {
        if let Ok(mut g) = self.grants_used.lock() {
            g.insert(grant_id.to_owned(), now);
        }
    }

    /// Writes pending "last used" times (called periodically and at shutdown).
    pub async fn flush_usage(&self, store: &dyn Store) {
        let grants: Vec<(String, UnixTime)> = match self.grants_used.lock() {
            Ok(mut g) => g.drain().collect(),
            Err(_) => Vec::new(),
        };
        for (id, at) in grants {
            if let Err(e) = store.touch_grant(&id, at).await {
                tracing::warn!(error = %e, "could not record grant use");
            }
        }
        let pending: Vec<(String, UnixTime)> = match self.used.lock() {
            Ok(mut g) => g.drain().collect(),
            Err(_) => return,
        };
        for (id, at) in pending {
            if let Err(e) = store.touch_client(&id, at).await {
                tracing::warn!(error = %e, "could not record client use");
            }
        }
    }
}
