//! Signing keys (list, rotate, retire) and the audit log.

use super::actor::{Actor, record};
use super::error::{AdminError, AdminResult};
use crate::Authority;
use crate::manage::types::*;
use authgate_core::model::Resource;
use serde_json::json;

pub async fn list_keys(state: &Authority) -> AdminResult<Vec<KeyView>> {
    let keys = state.keys.current();
    let now = state.clock.now();
    Ok(state
        .store
        .list_signing_keys()
        .await?
        .iter()
        .map(|k| KeyView::new(k, keys.signs(&k.kid), now))
        .collect())
}

pub async fn rotate_key(state: &Authority, actor: &Actor) -> AdminResult<KeyRotated> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    // Retired keys stay published for the longest token lifetime.
    let longest = store
        .list_resources()
        .await?
        .iter()
        .map(|r| r.access_token_ttl_secs)
        .max()
        .unwrap_or(Resource::DEFAULT_ACCESS_TOKEN_TTL)
        .max(state.settings.raw.id_token_ttl_secs)
        + 300;
    let alg = state.settings.signing_alg;
    let kid = crate::keys::rotate(store, &state.kek, alg, now, longest, state.rng.as_ref())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    state
        .keys
        .reload(store, now)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    record(
        state,
        actor,
        "key.rotated",
        None,
        None,
        json!({"kid": kid, "alg": alg.as_str()}),
    );
    Ok(KeyRotated {
        kid,
        alg: alg.as_str().into(),
        previous_published_until: now + longest,
    })
}

pub async fn retire_key(state: &Authority, actor: &Actor, kid: &str) -> AdminResult<KeyRetired> {
    let store = state.store.as_ref();
    if !store
        .list_signing_keys()
        .await?
        .iter()
        .any(|k| k.kid == kid)
    {
        return Err(AdminError::NotFound(format!("no signing key {kid:?}")));
    }
    if state.keys.current().signs(kid) {
        return Err(AdminError::conflict(
            "kid",
            "this key signs new tokens; rotate first, then retire it",
        ));
    }
    let removed = store.delete_signing_key(kid).await?;
    state
        .keys
        .reload(store, state.clock.now())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    record(state, actor, "key.retired", None, None, json!({"kid": kid}));
    Ok(KeyRetired {
        kid: kid.to_owned(),
        removed,
    })
}

pub async fn audit_page(
    state: &Authority,
    q: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> AdminResult<AuditPage> {
    let q = q.map(str::trim).filter(|s| !s.is_empty());
    let mut items = state.store.list_audit_events(q, before, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit.max(0) as usize);
    let next_before = if more {
        items.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage {
        items: items.into_iter().map(AuditView::from).collect(),
        next_before,
    })
}
