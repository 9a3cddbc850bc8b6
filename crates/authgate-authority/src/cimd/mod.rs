//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document):
//! a `client_id` that is an https URL names a JSON document describing the
//! client. authgate fetches it (SSRF-guarded, see [`crate::outbound`]), checks it,
//! caches it in memory per `Cache-Control` within configured bounds (and a
//! failure or refusal for `negative_cache_secs`). Once the client has
//! proved something — a person approved it and a code is issued — a
//! `metadata_document` client row is kept so that `authgate client list`
//! shows the client and an administrator can block it; a URL merely named
//! in a request writes nothing. Rows are capped (`max_clients`) and reaped
//! when unused (`unused_client_ttl_secs`), like dynamic clients.
//!
//! URL rules (draft §3): https; a host; a path other than `/`; no fragment;
//! no user information; no dot segments (encoded ones included). A query is
//! tolerated (the draft says clients SHOULD NOT use one). The URL must be in
//! the canonical form the URL standard gives it (lower-case host, no default
//! port), so one document cannot hide behind several spellings.
//!
//! Document rules: a 200 answer, `application/json` (or `…+json`), a JSON
//! object whose `client_id` equals the URL exactly; no `client_secret*`;
//! `token_endpoint_auth_method` `none` (default) or `private_key_jwt` with
//! `jwks` or `jwks_uri`; `redirect_uris` required.
//!
//! Host controls (config `[cimd]`): `deny_hosts`, `allow_hosts` (when not
//! empty, only these), `trusted_hosts` (a "verified" label on consent), and
//! runtime host blocks made with `authgate client block-host`, stored as a
//! blocked client row whose id is `https://<host>/` — a URL that can never be
//! a metadata document client id (its path is `/`).

pub mod cache;
pub mod config;
pub mod jwks;

pub use cache::DocumentCache;
pub use config::{CimdConfig, MAX_CONCURRENT_FETCHES, cache_ttl, validate_config};

use crate::Authority;
use crate::StoreFailure;
use crate::client_draft::{ClientDraft, METADATA_DOCUMENT};
use crate::client_metadata::{self, Origin, Rules};
use authgate_core::OAuthError;
use authgate_core::model::{Client, ClientKind, ClientMetadata};
use authgate_core::resource_uri::is_loopback_host;
use authgate_store::StoreError;
use cache::STORED_COUNT_TTL;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// Longest client_id URL accepted.
const MAX_CLIENT_ID_URL: usize = 2048;

/// Does `host` match a pattern list?
pub fn host_matches(host: &str, patterns: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
            None => host == p,
        }
    })
}

/// The client row that blocks every document on `host`.
pub fn host_block_id(host: &str) -> String {
    format!("https://{}/", host.to_ascii_lowercase())
}

/// Whether `client_id` is to be treated as a metadata document URL.
pub fn is_document_url(client_id: &str, cfg: &CimdConfig) -> bool {
    if client_id.starts_with("https://") {
        return true;
    }
    cfg.allow_loopback
        && client_id.starts_with("http://")
        && url::Url::parse(client_id)
            .ok()
            .and_then(|u| u.host_str().map(is_loopback_host))
            .unwrap_or(false)
}

/// Checks the URL rules; the reason names what is wrong.
pub fn parse_client_id_url(raw: &str, allow_loopback: bool) -> Result<url::Url, &'static str> {
    if raw.len() > MAX_CLIENT_ID_URL {
        return Err("is too long");
    }
    let lower = raw.to_ascii_lowercase();
    let path_part = lower
        .split_once("://")
        .map(|x| x.1)
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let path_only = path_part.split(['?', '#']).next().unwrap_or("");
    if path_only
        .split('/')
        .any(|seg| matches!(seg, "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."))
    {
        return Err("must not contain dot segments (\".\" or \"..\")");
    }
    let u = url::Url::parse(raw).map_err(|_| "is not an absolute URL")?;
    match u.scheme() {
        "https" => {}
        "http" if allow_loopback && u.host_str().is_some_and(is_loopback_host) => {}
        _ => return Err("must use https"),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("must have a host");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain user information");
    }
    if u.fragment().is_some() || raw.contains('#') {
        return Err("must not contain a fragment");
    }
    if u.path().is_empty() || u.path() == "/" {
        return Err("must have a path (a URL like https://host/client.json)");
    }
    if u.as_str() != raw {
        return Err(
            "must be in canonical form (lower-case host, no default port, no needless escapes)",
        );
    }
    Ok(u)
}

fn refused(why: impl std::fmt::Display) -> OAuthError {
    OAuthError::invalid_client(format!("client metadata document refused: {why}"))
}

/// Config and runtime host rules; `Err` explains the refusal.
async fn check_host(state: &Authority, host: &str) -> Result<(), OAuthError> {
    let cfg = &state.settings.raw.cimd;
    if host_matches(host, &cfg.deny_hosts) {
        return Err(refused("its host is blocked on this server"));
    }
    if !cfg.allow_hosts.is_empty() && !host_matches(host, &cfg.allow_hosts) {
        return Err(refused("its host is not on this server's allow list"));
    }
    let block = state
        .registry
        .client(state.store.as_ref(), &host_block_id(host))
        .await
        .map_err(StoreFailure)?;
    if block.is_some_and(|b| b.blocked) {
        return Err(refused("its host is blocked on this server"));
    }
    Ok(())
}

/// The checks that do not need the network: enabled, URL rules, host rules.
async fn precheck(state: &Authority, client_id: &str) -> Result<url::Url, OAuthError> {
    let cfg = &state.settings.raw.cimd;
    if !cfg.enabled {
        return Err(OAuthError::invalid_client(
            "this server does not accept client ID metadata documents; register the client instead",
        ));
    }
    let url = parse_client_id_url(client_id, cfg.allow_loopback)
        .map_err(|why| OAuthError::invalid_client(format!("a URL client_id {why}")))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    check_host(state, &host).await?;
    Ok(url)
}

/// A metadata document client known from an earlier fetch (used at the
/// token endpoint, where a client must not fail because its document host
/// is briefly down). Host rules and blocks still apply.
pub async fn check_stored(state: &Authority, c: &Client) -> Result<(), OAuthError> {
    precheck(state, &c.client_id).await?;
    if c.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    Ok(())
}

/// Resolves a metadata document client: cached, or fetched and checked.
pub async fn resolve(
    state: &Authority,
    client_id: &str,
    stored: Option<Arc<Client>>,
) -> Result<Arc<Client>, OAuthError> {
    let url = precheck(state, client_id).await?;
    if stored.as_ref().is_some_and(|s| s.blocked) {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    let services = &state.client_services;
    if let Some(cached) = services.documents.get(client_id) {
        metrics::counter!("authgate_cimd_fetches_total", "outcome" => "cached").increment(1);
        return Ok(match stored {
            Some(s) if s.metadata == cached.metadata => s,
            _ => cached,
        });
    }
    if let Some(why) = services.documents.refused.get(client_id) {
        metrics::counter!("authgate_cimd_fetches_total", "outcome" => "refused_cached")
            .increment(1);
        return Err(OAuthError::invalid_client(why));
    }
    let fetched = services.fetcher.get_json(&url).await.map_err(|e| {
        metrics::counter!("authgate_cimd_fetches_total", "outcome" => "failed").increment(1);
        tracing::info!(client_id, error = %e, "client metadata document refused");
        refused(e)
    })?;
    let metadata = check_document(
        &fetched.body,
        client_id,
        state.settings.raw.cimd.allow_loopback,
    )
    .inspect_err(|e| {
        metrics::counter!("authgate_cimd_fetches_total", "outcome" => "invalid").increment(1);
        tracing::info!(client_id, error = %e.description, "client metadata document refused");
        services
            .documents
            .refused
            .put(client_id, e.description.clone());
    })?;
    metrics::counter!("authgate_cimd_fetches_total", "outcome" => "fetched").increment(1);
    // A client already stored (it proved itself before) follows its
    // document; a new one stays in memory until it proves something (see
    // `remember`): a URL named in a request writes nothing.
    let client = match stored.as_deref() {
        Some(s) => Arc::new(persist(state, client_id, metadata, Some(s)).await?),
        None => {
            check_capacity(state).await?;
            Arc::new(document_client(state, client_id, metadata, None)?)
        }
    };
    let ttl = cache_ttl(&state.settings.raw.cimd, fetched.max_age, fetched.no_cache);
    services.documents.put(client_id, ttl, client.clone());
    Ok(client)
}

/// Checks a fetched document against `client_id` and the metadata rules.
pub fn check_document(
    body: &[u8],
    client_id: &str,
    allow_loopback: bool,
) -> Result<ClientMetadata, OAuthError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| refused("it is not valid JSON"))?;
    let Value::Object(obj) = v else {
        return Err(refused("it is not a JSON object"));
    };
    match obj.get("client_id") {
        Some(Value::String(id)) if id == client_id => {}
        Some(Value::String(_)) => {
            return Err(refused(
                "its client_id does not equal the URL it was fetched from",
            ));
        }
        _ => return Err(refused("it has no client_id")),
    }
    if let Some(k) = obj.keys().find(|k| k.starts_with("client_secret")) {
        return Err(refused(format!(
            "it contains {k}; a metadata document cannot hold a secret"
        )));
    }
    if !obj.contains_key("redirect_uris") {
        return Err(refused("it has no redirect_uris"));
    }
    client_metadata::validate(
        &obj,
        Rules {
            origin: Origin::Document,
            allow_loopback,
        },
    )
    .map_err(|e| refused(e.description))
}

/// The client a checked document describes, keeping what the store knows
/// (created, last used, blocked).
fn document_client(
    state: &Authority,
    client_id: &str,
    metadata: ClientMetadata,
    stored: Option<&Client>,
) -> Result<Client, OAuthError> {
    ClientDraft::new(METADATA_DOCUMENT, client_id, metadata)
        .into_client(state.clock.now(), stored)
        .map_err(|e| refused(e.oauth().description))
}

/// Refuses a client not yet stored when the store holds `cimd.max_clients`
/// metadata document clients already.
async fn check_capacity(state: &Authority) -> Result<(), OAuthError> {
    let max = state.settings.raw.cimd.max_clients;
    let cache = &state.client_services.documents.stored;
    let fresh = cache
        .lock()
        .ok()
        .and_then(|g| *g)
        .filter(|(n, at)| at.elapsed() < STORED_COUNT_TTL && *n < max)
        .map(|(n, _)| n);
    let n = match fresh {
        Some(n) => n,
        None => {
            let n = state
                .store
                .count_clients(ClientKind::MetadataDocument)
                .await
                .map_err(StoreFailure)?;
            if let Ok(mut g) = cache.lock() {
                *g = Some((n, Instant::now()));
            }
            n
        }
    };
    if n >= max {
        tracing::warn!(
            stored = n,
            "metadata document client cap (cimd.max_clients) reached; new client refused"
        );
        return Err(OAuthError::invalid_client(
            "this server holds as many client ID metadata document clients as it may (cimd.max_clients); try again later or ask the operator",
        ));
    }
    Ok(())
}

/// A metadata document client proved itself (a person approved it and a
/// code is being issued to it): store its row, so it is listed, can be
/// blocked, and keeps working at the token endpoint while its document host
/// is down. Nothing to do for other clients or one already stored. A
/// failure here does not stop the code: the client is then resolved from
/// its document at the token endpoint, as before it was stored.
pub async fn remember(state: &Authority, client_id: &str) {
    if !is_document_url(client_id, &state.settings.raw.cimd) {
        return;
    }
    match state.registry.client(state.store.as_ref(), client_id).await {
        Ok(None) => {}
        Ok(Some(_)) => return,
        Err(e) => {
            tracing::warn!(client_id, error = %e, "could not look up a metadata document client");
            return;
        }
    }
    let Some(c) = state.client_services.documents.get_even_stale(client_id) else {
        return;
    };
    if c.kind != ClientKind::MetadataDocument {
        return;
    }
    if let Err(e) = persist(state, client_id, c.metadata.clone(), None).await {
        tracing::warn!(client_id, error = %e.description, "could not store a metadata document client");
        return;
    }
    if let Ok(mut g) = state.client_services.documents.stored.lock()
        && let Some((n, _)) = g.as_mut()
    {
        *n += 1;
    }
}

/// Inserts or updates the client row for a fetched document, keeping what
/// the store knows (created, last used, blocked).
async fn persist(
    state: &Authority,
    client_id: &str,
    metadata: ClientMetadata,
    stored: Option<&Client>,
) -> Result<Client, OAuthError> {
    let c = document_client(state, client_id, metadata, stored)?;
    if stored.is_some_and(|s| *s == c) {
        return Ok(c);
    }
    let store = state.store.as_ref();
    let result = if stored.is_some() {
        store.update_client(&c).await.map(|_| ())
    } else {
        match store.insert_client(&c).await {
            Err(StoreError::Conflict(_)) => store.update_client(&c).await.map(|_| ()),
            r => r,
        }
    };
    result.map_err(StoreFailure)?;
    state.registry.invalidate_client(client_id);
    crate::audit::audit_detail(
        state,
        if stored.is_some() {
            "client.metadata_document_changed"
        } else {
            "client.metadata_document_first_seen"
        },
        None,
        Some(client_id),
        None,
        None,
        "success",
        serde_json::json!({"client_name": c.metadata.client_name}),
    );
    Ok(c)
}

/// Deletes stored metadata document clients unused for
/// `cimd.unused_client_ttl_secs` (the periodic purge; blocked ones stay).
pub async fn reap_unused_clients(state: &Authority) -> Result<u64, StoreError> {
    state.registry.flush_usage(state.store.as_ref()).await;
    let ttl = state.settings.raw.cimd.unused_client_ttl_secs;
    let n = state
        .store
        .reap_metadata_document_clients(state.clock.now().saturating_sub(ttl))
        .await?;
    if n > 0 {
        if let Ok(mut g) = state.client_services.documents.stored.lock() {
            *g = None;
        }
        crate::client_reaping::record_reaped(state, n, ttl, Some("metadata_document"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn url_rules() {
        let ok = |s: &str| parse_client_id_url(s, false).is_ok();
        assert!(ok("https://app.example.com/client.json"));
        assert!(ok("https://app.example.com:8443/oauth/client"));
        assert!(ok("https://app.example.com/c?v=1"));
        assert!(!ok("http://app.example.com/client.json"));
        assert!(!ok("https://app.example.com/"));
        assert!(!ok("https://app.example.com"));
        assert!(!ok("https://app.example.com/client.json#x"));
        assert!(!ok("https://user:pw@app.example.com/client.json"));
        assert!(!ok("https://app.example.com/a/../client.json"));
        assert!(!ok("https://app.example.com/./client.json"));
        assert!(!ok("https://app.example.com/%2e%2E/client.json"));
        assert!(!ok("https://APP.example.com/client.json"));
        assert!(!ok("https://app.example.com:443/client.json"));
        assert!(parse_client_id_url("http://127.0.0.1:9/c.json", false).is_err());
        assert!(parse_client_id_url("http://127.0.0.1:9/c.json", true).is_ok());
        assert!(parse_client_id_url("http://10.0.0.1/c.json", true).is_err());
    }

    #[test]
    fn host_patterns() {
        let p = vec!["claude.ai".to_string(), "*.example.com".to_string()];
        assert!(host_matches("claude.ai", &p));
        assert!(host_matches("CLAUDE.ai", &p));
        assert!(!host_matches("evilclaude.ai", &p));
        assert!(host_matches("a.example.com", &p));
        assert!(!host_matches("example.com", &p));
        assert!(!host_matches("badexample.com", &p));
    }

    #[test]
    fn ttl_is_clamped() {
        let c = CimdConfig::default();
        assert_eq!(cache_ttl(&c, None, false), Duration::from_secs(300));
        assert_eq!(cache_ttl(&c, Some(5), false), Duration::from_secs(60));
        assert_eq!(
            cache_ttl(&c, Some(10_000_000), false),
            Duration::from_secs(86400)
        );
        assert_eq!(cache_ttl(&c, Some(900), true), Duration::from_secs(60));
    }

    #[test]
    fn documents() {
        let id = "https://app.example.com/c.json";
        let good = br#"{"client_id":"https://app.example.com/c.json","redirect_uris":["http://127.0.0.1/cb"]}"#;
        assert!(check_document(good, id, false).is_ok());
        let other = br#"{"client_id":"https://app.example.com/other.json","redirect_uris":["http://127.0.0.1/cb"]}"#;
        assert!(check_document(other, id, false).is_err());
        let secret = br#"{"client_id":"https://app.example.com/c.json","redirect_uris":["http://127.0.0.1/cb"],"client_secret":"x"}"#;
        assert!(
            check_document(secret, id, false)
                .unwrap_err()
                .description
                .contains("client_secret")
        );
        let no_redirects = br#"{"client_id":"https://app.example.com/c.json"}"#;
        assert!(check_document(no_redirects, id, false).is_err());
        let pkjwt = br#"{"client_id":"https://app.example.com/c.json","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#;
        assert!(check_document(pkjwt, id, false).is_err());
        assert!(check_document(b"[1]", id, false).is_err());
    }
}
