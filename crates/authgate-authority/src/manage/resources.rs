//! MCP servers (protected resources): create, update, delete with what it
//! revokes, and what each must publish.

use super::actor::{Actor, record};
use super::error::{AdminError, AdminResult};
use crate::Authority;
use crate::config::ResourceConfig;
use crate::manage::types::*;
use crate::provision;
use authgate_core::model::Resource;
use authgate_core::resource_uri;
use serde_json::json;

pub async fn get_resource(state: &Authority, id: &str) -> AdminResult<Resource> {
    state
        .store
        .get_resource(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no MCP server with id {id:?}")))
}

/// An id from a name: lowercase letters and digits joined by `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 48 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "mcp".into() } else { out }
}

fn to_config(id: String, input: ResourceInput) -> ResourceConfig {
    ResourceConfig {
        id,
        name: input.name.trim().to_owned(),
        uri: input.uri.trim().to_owned(),
        scopes: input.scopes.into_iter().map(Into::into).collect(),
        default_scopes: input
            .default_scopes
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        access_token_ttl_secs: input.access_token_ttl_secs,
        refresh_token_idle_ttl_secs: input.refresh_token_idle_ttl_secs,
        refresh_token_absolute_ttl_secs: input.refresh_token_absolute_ttl_secs,
        allow_dynamic_registration: input.allow_dynamic_registration,
        allow_client_id_metadata_documents: input.allow_client_id_metadata_documents,
        allow_dynamic_client_credentials: input.allow_dynamic_client_credentials,
        documentation_uri: input
            .documentation_uri
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        logo_uri: input
            .logo_uri
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        signup: input.signup,
    }
}

async fn validate_resource(
    state: &Authority,
    cfg: &ResourceConfig,
    existing_id: Option<&str>,
) -> AdminResult<()> {
    crate::declared::validate_resource_config(cfg).map_err(|(f, d)| AdminError::invalid(f, d))?;
    if let Some(a) = cfg.refresh_token_idle_ttl_secs
        && let Some(b) = cfg.refresh_token_absolute_ttl_secs
        && a > b
    {
        return Err(AdminError::invalid(
            "refresh_token_idle_ttl_secs",
            "must not be longer than refresh_token_absolute_ttl_secs",
        ));
    }
    let uri = resource_uri::canonicalize(&cfg.uri)
        .map_err(|e| AdminError::invalid("uri", e.to_string()))?;
    let own_id = existing_id.unwrap_or(&cfg.id);
    if let Some(other) = crate::registry::uri_taken_by(state.store.as_ref(), &uri, own_id).await? {
        return Err(AdminError::conflict(
            "uri",
            format!("MCP server {other:?} already has this URL"),
        ));
    }
    Ok(())
}

pub async fn create_resource(
    state: &Authority,
    actor: &Actor,
    input: ResourceInput,
) -> AdminResult<Resource> {
    let store = state.store.as_ref();
    let id = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let base = slug(&input.name);
            let mut id = base.clone();
            let mut n = 2;
            while store.get_resource(&id).await?.is_some() {
                id = format!("{base}-{n}");
                n += 1;
            }
            id
        }
    };
    let cfg = to_config(id, input);
    validate_resource(state, &cfg, None).await?;
    if store.get_resource(&cfg.id).await?.is_some() {
        return Err(AdminError::conflict(
            "id",
            format!("an MCP server with id {:?} exists", cfg.id),
        ));
    }
    let r = provision::resource_from_config(&cfg, None, state.clock.now());
    store.upsert_resource(&r).await?;
    state.registry.invalidate_resources();
    record(
        state,
        actor,
        "admin.resource.created",
        None,
        Some(&r.id),
        json!({"uri": r.uri, "name": r.name}),
    );
    Ok(r)
}

pub async fn update_resource(
    state: &Authority,
    actor: &Actor,
    id: &str,
    input: ResourceInput,
) -> AdminResult<Resource> {
    let existing = get_resource(state, id).await?;
    if crate::builtin::is_builtin(id) {
        return Err(AdminError::invalid(
            "id",
            "the admin API resource is built in and cannot be changed",
        ));
    }
    let cfg = to_config(id.to_owned(), input);
    validate_resource(state, &cfg, Some(id)).await?;
    let r = provision::resource_from_config(&cfg, Some(&existing), state.clock.now());
    state.store.upsert_resource(&r).await?;
    state.registry.invalidate_resources();
    let before = serde_json::to_value(ResourceView::from(&existing)).unwrap_or_default();
    let after = serde_json::to_value(ResourceView::from(&r)).unwrap_or_default();
    let changed: Vec<&String> = after
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| *k != "updated_at" && before.get(k.as_str()) != Some(*v))
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default();
    record(
        state,
        actor,
        "admin.resource.updated",
        None,
        Some(id),
        json!({ "changed": changed }),
    );
    Ok(r)
}

/// What deleting an MCP server revokes; with `execute`, revokes it.
pub async fn resource_impact(
    state: &Authority,
    id: &str,
    execute: bool,
) -> AdminResult<ResourceImpact> {
    let r = get_resource(state, id).await?;
    let store = state.store.as_ref();
    let now = state.clock.now();
    let mut out = ResourceImpact {
        resource_id: id.to_owned(),
        access_tokens_valid_for_at_most_secs: r.access_token_ttl_secs,
        ..Default::default()
    };
    for u in store.list_users().await? {
        for g in store.list_grants_for_user(&u.id).await? {
            if g.resource_id == id {
                if execute {
                    store.revoke_grant(&g.id, now).await?;
                }
                out.grants_revoked += 1;
            }
        }
        for c in store.list_consents_for_user(&u.id).await? {
            if c.resource_id == id {
                if execute {
                    store.delete_consent(&u.id, &c.client_id, id).await?;
                }
                out.consents_removed += 1;
            }
        }
    }
    out.clients_restricted = store
        .list_clients()
        .await?
        .into_iter()
        .filter(|c| c.resources.iter().any(|x| x == id))
        .map(|c| c.client_id)
        .collect();
    Ok(out)
}

pub async fn delete_resource(
    state: &Authority,
    actor: &Actor,
    id: &str,
) -> AdminResult<ResourceImpact> {
    if crate::builtin::is_builtin(id) {
        get_resource(state, id).await?;
        return Err(AdminError::invalid(
            "id",
            "the admin API resource is built in and cannot be deleted",
        ));
    }
    let impact = resource_impact(state, id, true).await?;
    if !state.store.delete_resource(id).await? {
        return Err(AdminError::NotFound(format!(
            "no MCP server with id {id:?}"
        )));
    }
    state.registry.invalidate_resources();
    record(
        state,
        actor,
        "admin.resource.deleted",
        None,
        Some(id),
        serde_json::to_value(&impact).unwrap_or_default(),
    );
    Ok(impact)
}

pub fn resource_metadata(state: &Authority, r: &Resource) -> ResourceMetadataView {
    let metadata = crate::resource_metadata::metadata(&state.settings.issuer, r);
    ResourceMetadataView {
        resource_id: r.id.clone(),
        metadata_url: crate::resource_metadata::metadata_url(r),
        www_authenticate: crate::resource_metadata::www_authenticate(r),
        snippets: crate::check::snippets(&state.settings.issuer, r, &metadata),
        metadata,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Weather (prod)"), "weather-prod");
        assert_eq!(slug("  "), "mcp");
        assert_eq!(slug("Ünïcode"), "n-code");
    }
}
