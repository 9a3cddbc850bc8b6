//! The upstream's signing keys, fetched from its `jwks_uri` and cached. A
//! token signed with a key we do not know makes one refetch (the upstream
//! rotated), at most once per [`REFETCH_EVERY`] per key set, so tokens with
//! made-up `kid`s cannot make us hammer the upstream; concurrent refetches
//! of one set are one fetch ([`Flights`]).

use super::single_flight::Flights;
use super::{FederationServices, UpstreamError};
use jsonwebtoken::jwk::Jwk;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(3600);
pub(crate) const REFETCH_EVERY: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 256;
/// Most keys read from one set.
const MAX_KEYS: usize = 64;

/// A key set and when it was fetched.
type Entry = (Arc<Vec<Jwk>>, Instant);

pub(crate) struct JwksCache {
    entries: Mutex<HashMap<String, Entry>>,
    fetching: Flights,
    /// [`REFETCH_EVERY`] (tests shorten it).
    pub(crate) refetch_every: Duration,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            fetching: Flights::default(),
            refetch_every: REFETCH_EVERY,
        }
    }
}

/// The signing keys in a JWK set document; keys we cannot read (unknown
/// types, encryption keys) are skipped, not fatal.
pub(crate) fn parse_keys(body: &[u8]) -> Result<Vec<Jwk>, UpstreamError> {
    let doc: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| UpstreamError::IdToken("the key set is not JSON".into()))?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| UpstreamError::IdToken("the key set has no keys".into()))?;
    Ok(keys
        .iter()
        .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .take(MAX_KEYS)
        .collect())
}

fn unpublished() -> UpstreamError {
    UpstreamError::IdToken("the token is signed with a key the provider does not publish".into())
}

/// The key a token's header names: by `kid`, or the only key when the
/// token names none.
fn pick(keys: &[Jwk], kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

impl FederationServices {
    /// The key `kid` of the set at `jwks_uri`.
    pub(crate) async fn signing_key(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
    ) -> Result<Jwk, UpstreamError> {
        if let Some(answer) = self.cached_key(jwks_uri, kid) {
            return answer;
        }
        // One fetch per set at a time; who waited reads what it stored
        // (and, being within REFETCH_EVERY of it, does not fetch again).
        let _turn = self.jwks.fetching.turn(jwks_uri).await;
        if let Some(answer) = self.cached_key(jwks_uri, kid) {
            return answer;
        }
        let keys = self.fetch_keys(jwks_uri).await?;
        pick(&keys, kid).ok_or_else(unpublished)
    }

    /// The answer the cache gives, or `None` when the set must be fetched
    /// (none cached, expired, or an unknown key and the last fetch is
    /// older than REFETCH_EVERY).
    fn cached_key(&self, jwks_uri: &str, kid: Option<&str>) -> Option<Result<Jwk, UpstreamError>> {
        let (keys, at) = self
            .jwks
            .entries
            .lock()
            .ok()
            .and_then(|m| m.get(jwks_uri).cloned())?;
        if at.elapsed() >= TTL {
            return None;
        }
        match pick(&keys, kid) {
            Some(k) => Some(Ok(k)),
            None if at.elapsed() < self.jwks.refetch_every => Some(Err(unpublished())),
            None => None,
        }
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<Arc<Vec<Jwk>>, UpstreamError> {
        let url = self.url_ok(jwks_uri)?;
        let fetched = self.fetcher.get_json(&url).await.map_err(|e| match e {
            crate::outbound::FetchError::Timeout(_) | crate::outbound::FetchError::Connect => {
                UpstreamError::Unreachable(e)
            }
            e => UpstreamError::IdToken(format!("the key set could not be fetched: {e}")),
        })?;
        let keys = Arc::new(parse_keys(&fetched.body)?);
        if let Ok(mut m) = self.jwks.entries.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(jwks_uri.to_owned(), (keys.clone(), Instant::now()));
        }
        Ok(keys)
    }
}
