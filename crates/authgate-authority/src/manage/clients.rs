//! Clients: register (secret shown once), rotate the secret, block, delete
//! with their grants.

use super::{Actor, AdminError, AdminResult, record};
use crate::Authority;
use crate::config::ClientConfig;
use crate::manage::types::*;
use crate::provision;
use authgate_core::model::{
    ANY_RESOURCE, Client, ClientKind, ClientMetadata, TokenEndpointAuthMethod,
};
use authgate_core::{scope, secret};
use authgate_store::StoreError;
use serde_json::{Value, json};

pub async fn get_client(state: &Authority, id: &str) -> AdminResult<Client> {
    state
        .store
        .get_client(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {id:?}")))
}

pub async fn create_client(
    state: &Authority,
    actor: &Actor,
    input: ClientInput,
) -> AdminResult<(Client, Option<String>)> {
    let store = state.store.as_ref();
    let client_id = match input
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(id) => id.to_owned(),
        None => secret::generate_id(state.rng.as_ref())?,
    };
    let name = input
        .client_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(AdminError::invalid(
            "client_name",
            "must be at most 200 characters",
        ));
    }
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let redirect_uris = clean(input.redirect_uris);
    let resources = clean(input.resources);
    let scopes = input.scopes.map(clean);
    let secret_plain = input
        .confidential
        .then(|| secret::generate(state.rng.as_ref()))
        .transpose()?;
    let grant_types = {
        let g = clean(input.grant_types);
        if !g.is_empty() {
            g
        } else if redirect_uris.is_empty() {
            vec!["client_credentials".to_string()]
        } else {
            vec!["authorization_code".into(), "refresh_token".into()]
        }
    };
    let cc = ClientConfig {
        client_id: client_id.clone(),
        client_name: name.clone(),
        client_secret: secret_plain.clone(),
        client_secret_file: None,
        token_endpoint_auth_method: None,
        redirect_uris: redirect_uris.clone(),
        grant_types: grant_types.clone(),
        resources: resources.clone(),
        scopes: scopes.clone(),
    };
    provision::validate_client_config(&cc, &[]).map_err(|(f, d)| AdminError::invalid(f, d))?;
    let needs_redirect = grant_types.iter().any(|g| g == "authorization_code");
    if needs_redirect && redirect_uris.is_empty() {
        return Err(AdminError::invalid(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if !input.confidential && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(AdminError::invalid(
            "grant_types",
            "client_credentials needs a confidential client",
        ));
    }
    for r in resources.iter().filter(|r| *r != ANY_RESOURCE) {
        if store.get_resource(r).await?.is_none() {
            return Err(AdminError::invalid(
                "resources",
                format!("no MCP server with id {r:?}"),
            ));
        }
    }
    if let Some(s) = &scopes {
        for x in s {
            if !scope::is_scope_token(x) {
                return Err(AdminError::invalid(
                    "scopes",
                    format!("{x:?} is not a valid scope"),
                ));
            }
        }
    }
    let c = Client {
        client_id: client_id.clone(),
        kind: ClientKind::PreRegistered,
        metadata: ClientMetadata {
            redirect_uris: redirect_uris.clone(),
            client_name: name,
            grant_types,
            response_types: if needs_redirect {
                vec!["code".into()]
            } else {
                vec![]
            },
            token_endpoint_auth_method: if input.confidential {
                TokenEndpointAuthMethod::ClientSecretBasic
            } else {
                TokenEndpointAuthMethod::None
            },
            ..ClientMetadata::default()
        },
        secret_hash: secret_plain.as_deref().map(secret::hash),
        registration_access_token_hash: None,
        resources,
        allowed_scopes: scopes,
        blocked: false,
        registration_fingerprint: None,
        registration_count: 1,
        created_at: state.clock.now(),
        last_used_at: None,
    };
    match store.insert_client(&c).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::conflict(
                "client_id",
                format!("a client {client_id:?} exists"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    state.registry.invalidate_client(&c.client_id);
    record(
        state,
        actor,
        "admin.client.created",
        Some(&c.client_id),
        None,
        json!({"confidential": input.confidential, "resources": c.resources}),
    );
    Ok((c, secret_plain))
}

pub async fn rotate_client_secret(
    state: &Authority,
    actor: &Actor,
    id: &str,
) -> AdminResult<String> {
    let mut c = get_client(state, id).await?;
    if !matches!(
        c.metadata.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    ) {
        return Err(AdminError::invalid(
            "client_id",
            format!(
                "this client authenticates with {}, not a client secret",
                c.metadata.token_endpoint_auth_method.as_str()
            ),
        ));
    }
    let s = secret::generate(state.rng.as_ref())?;
    c.secret_hash = Some(secret::hash(&s));
    if !state.store.update_client(&c).await? {
        return Err(AdminError::NotFound(format!("no client {id:?}")));
    }
    state.registry.invalidate_client(id);
    record(
        state,
        actor,
        "admin.client.secret_rotated",
        Some(id),
        None,
        Value::Null,
    );
    Ok(s)
}

pub async fn set_client_blocked(
    state: &Authority,
    actor: &Actor,
    id: &str,
    blocked: bool,
) -> AdminResult<Client> {
    let mut c = get_client(state, id).await?;
    c.blocked = blocked;
    if !state.store.update_client(&c).await? {
        return Err(AdminError::NotFound(format!("no client {id:?}")));
    }
    state.registry.invalidate_client(id);
    let event = if blocked {
        "admin.client.blocked"
    } else {
        "admin.client.unblocked"
    };
    record(
        state,
        actor,
        event,
        Some(id),
        None,
        json!({"kind": c.kind.as_str()}),
    );
    Ok(c)
}

/// Grants and consents of a client (for the delete confirmation); with
/// `execute`, revokes them.
pub async fn client_impact(
    state: &Authority,
    id: &str,
    execute: bool,
) -> AdminResult<ClientDeleted> {
    get_client(state, id).await?;
    let store = state.store.as_ref();
    let now = state.clock.now();
    let mut out = ClientDeleted {
        client_id: id.to_owned(),
        ..Default::default()
    };
    for u in store.list_users().await? {
        for g in store.list_grants_for_user(&u.id).await? {
            if g.client_id == id {
                if execute {
                    store.revoke_grant(&g.id, now).await?;
                }
                out.grants_revoked += 1;
            }
        }
        for c in store.list_consents_for_user(&u.id).await? {
            if c.client_id == id {
                if execute {
                    store.delete_consent(&u.id, id, &c.resource_id).await?;
                }
                out.consents_removed += 1;
            }
        }
    }
    out.access_tokens_valid_for_at_most_secs = store
        .list_resources()
        .await?
        .iter()
        .map(|r| r.access_token_ttl_secs)
        .max()
        .unwrap_or(0);
    Ok(out)
}

pub async fn delete_client(
    state: &Authority,
    actor: &Actor,
    id: &str,
) -> AdminResult<ClientDeleted> {
    let out = client_impact(state, id, true).await?;
    if !state.store.delete_client(id).await? {
        return Err(AdminError::NotFound(format!("no client {id:?}")));
    }
    state.registry.invalidate_client(id);
    record(
        state,
        actor,
        "admin.client.deleted",
        Some(id),
        None,
        json!({"grants_revoked": out.grants_revoked, "consents_removed": out.consents_removed}),
    );
    Ok(out)
}
