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

/// The one rule for resource URLs: no two MCP servers may have URLs that
/// are equal under the tolerant match a client's `resource` is compared
/// with (otherwise `/authorize` and `/token` could not tell which server a
/// token is for). Returns the id of the other MCP server that already has
/// `uri`, ignoring `own_id` itself. Every path that creates or changes a
/// resource (config provisioning, CLI, admin API and dashboard) asks here.
pub async fn uri_taken_by(
    store: &dyn Store,
    uri: &str,
    own_id: &str,
) -> StoreResult<Option<String>> {
    Ok(store
        .list_resources()
        .await?
        .into_iter()
        .find(|r| r.id != own_id && resource_uri::matches(uri, &r.uri))
        .map(|r| r.id))
}

/// The first pair of `(id, uri)` entries whose URLs are equal under the
/// tolerant match (for checking a config file before anything is stored).
pub fn duplicate_uri<'a>(entries: &[(&'a str, &'a str)]) -> Option<(&'a str, &'a str)> {
    entries.iter().enumerate().find_map(|(i, (a, ua))| {
        entries[i + 1..]
            .iter()
            .find(|(_, ub)| resource_uri::matches(ua, ub))
            .map(|(b, _)| (*a, *b))
    })
}

const TTL: Duration = Duration::from_secs(2);
const MAX_CLIENTS: usize = 10_000;

/// All resources, as loaded at an instant: a new `Arc` each time they are
/// reloaded (the discovery cache relies on that).
pub type ResourceList = Arc<Vec<Arc<Resource>>>;
/// A client lookup (including "no such client") as of an instant.
type ClientEntry = (Instant, Option<Arc<Client>>);

/// Ids of resources whose URL equals another's under the tolerant match.
type Clashing = Arc<std::collections::HashSet<String>>;

fn clashing_ids(list: &[Arc<Resource>]) -> Clashing {
    let mut by_key: HashMap<String, Vec<&str>> = HashMap::new();
    for r in list {
        let key = resource_uri::comparable(&r.uri).unwrap_or_else(|| r.uri.clone());
        by_key.entry(key).or_default().push(&r.id);
    }
    Arc::new(
        by_key
            .into_values()
            .filter(|ids| ids.len() > 1)
            .flatten()
            .map(str::to_owned)
            .collect(),
    )
}

pub struct Registry {
    resources: RwLock<Option<(Instant, ResourceList, Clashing)>>,
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
        Ok(self.snapshot(store).await?.0)
    }

    /// The resources and the ids of those whose URL clashes with another's.
    async fn snapshot(&self, store: &dyn Store) -> StoreResult<(ResourceList, Clashing)> {
        if let Ok(g) = self.resources.read()
            && let Some((at, list, clashing)) = g.as_ref()
            && at.elapsed() < TTL
        {
            return Ok((list.clone(), clashing.clone()));
        }
        let list: ResourceList = Arc::new(
            store
                .list_resources()
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        let clashing = clashing_ids(&list);
        if let Ok(mut g) = self.resources.write() {
            *g = Some((Instant::now(), list.clone(), clashing.clone()));
        }
        Ok((list, clashing))
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

    /// The registered resource a presented indicator names (tolerant
    /// compare). A resource whose URL clashes with another's (a store that
    /// had duplicates before they were refused) is never named: picking one
    /// would issue a token for an audience nobody chose.
    pub async fn resource_by_uri(
        &self,
        store: &dyn Store,
        uri: &str,
    ) -> StoreResult<Option<Arc<Resource>>> {
        let (list, clashing) = self.snapshot(store).await?;
        // Clients nearly always send the registered URL as it is: compare
        // strings first and parse URLs only for the tolerant match.
        let found = match list.iter().find(|r| r.uri == uri) {
            Some(r) => Some(r),
            None => list.iter().find(|r| resource_uri::matches(uri, &r.uri)),
        };
        match found {
            Some(r) if clashing.contains(&r.id) => {
                tracing::error!(
                    resource = %r.id,
                    "several MCP servers are registered with this URL; refusing it until an administrator changes or removes the duplicates"
                );
                Ok(None)
            }
            other => Ok(other.cloned()),
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn duplicate_uris_under_the_tolerant_match() {
        let d = super::duplicate_uri(&[
            ("a", "https://mcp.example.com/mcp"),
            ("b", "https://other.example.com/mcp"),
            ("c", "HTTPS://MCP.example.com:443/mcp/"),
        ]);
        assert_eq!(d, Some(("a", "c")));
        assert_eq!(
            super::duplicate_uri(&[
                ("a", "https://mcp.example.com/mcp"),
                ("b", "https://mcp.example.com/mcp2"),
            ]),
            None
        );
    }
}
