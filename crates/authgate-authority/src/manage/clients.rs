//! Clients: register (secret shown once), rotate the secret, block, delete
//! with their grants.

use super::actor::{Actor, record};
use super::error::{AdminError, AdminResult};
use crate::Authority;
use crate::client_draft::{ClientDraft, METADATA_DOCUMENT, PreRegistered};
use crate::manage::types::*;
use authgate_core::model::{ANY_RESOURCE, Client, ClientMetadata, TokenEndpointAuthMethod};
use authgate_core::secret;
use authgate_store::StoreError;
use serde_json::{Value, json};

pub async fn get_client(state: &Authority, id: &str) -> AdminResult<Client> {
    state
        .store
        .get_client(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {id:?}")))
}

/// Registers a pre-registered client; a confidential one gets a secret,
/// returned once.
pub async fn create_client(
    state: &Authority,
    actor: &Actor,
    input: ClientInput,
) -> AdminResult<(Client, Option<String>)> {
    let confidential = input.confidential;
    let secret_plain = confidential
        .then(|| secret::generate(state.rng.as_ref()))
        .transpose()?;
    let wanted = wanted_client(state, input)?;
    let c = wanted
        .draft(secret_plain.as_deref().map(secret::hash))
        .and_then(|d| d.into_client(state.clock.now(), None))
        .map_err(|e| AdminError::invalid(e.field, e.reason))?;
    check_resources_exist(state, &c.resources).await?;
    match state.store.insert_client(&c).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::conflict(
                "client_id",
                format!("a client {:?} exists", c.client_id),
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
        json!({"confidential": confidential, "resources": c.resources}),
    );
    Ok((c, secret_plain))
}

/// The input, trimmed (blank entries dropped), with a generated id when it
/// names none. The auth method follows from whether it gets a secret.
fn wanted_client(state: &Authority, input: ClientInput) -> AdminResult<PreRegistered> {
    let trimmed = |s: Option<String>| {
        s.map(|s| s.trim().to_owned())
            .filter(|s: &String| !s.is_empty())
    };
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let client_id = match trimmed(input.client_id) {
        Some(id) => id,
        None => secret::generate_id(state.rng.as_ref())?,
    };
    Ok(PreRegistered {
        client_id,
        client_name: trimmed(input.client_name),
        token_endpoint_auth_method: None,
        redirect_uris: clean(input.redirect_uris),
        grant_types: clean(input.grant_types),
        resources: clean(input.resources),
        scopes: input.scopes.map(clean),
    })
}

/// Every MCP server a client lists exists (`*` aside).
async fn check_resources_exist(state: &Authority, resources: &[String]) -> AdminResult<()> {
    for r in resources.iter().filter(|r| *r != ANY_RESOURCE) {
        if state.store.get_resource(r).await?.is_none() {
            return Err(AdminError::invalid(
                "resources",
                format!("no MCP server with id {r:?}"),
            ));
        }
    }
    Ok(())
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

/// A blocked metadata document row standing for a URL not fetched yet or
/// for a whole host (`https://<host>/`, never a document URL: its path is
/// `/`). The registration count is 0: nobody registered it.
fn document_block_row(state: &Authority, id: &str) -> AdminResult<Client> {
    let c = ClientDraft::new(METADATA_DOCUMENT, id, ClientMetadata::default())
        .into_client(state.clock.now(), None)
        .map_err(|e| AdminError::invalid(e.field, e.reason))?;
    Ok(Client {
        blocked: true,
        registration_count: 0,
        ..c
    })
}

/// Blocks a metadata document client before it is ever seen: `id` must be
/// a document URL (a stored client is blocked with [`set_client_blocked`]).
pub async fn block_document_ahead(state: &Authority, actor: &Actor, id: &str) -> AdminResult<()> {
    if crate::cimd::parse_client_id_url(id, false).is_err() {
        return Err(AdminError::NotFound(format!("no client {id:?}")));
    }
    state
        .store
        .insert_client(&document_block_row(state, id)?)
        .await?;
    state.registry.invalidate_client(id);
    record(
        state,
        actor,
        "admin.client.blocked",
        Some(id),
        None,
        json!({"kind": "metadata_document", "ahead": true}),
    );
    Ok(())
}

/// Refuses (or again accepts) every client ID metadata document on `host`,
/// URLs never seen included. Returns false when unblocking a host that
/// was not blocked.
pub async fn set_host_blocked(
    state: &Authority,
    actor: &Actor,
    host: &str,
    blocked: bool,
) -> AdminResult<bool> {
    let host = host.trim().to_ascii_lowercase();
    let valid = !host.is_empty()
        && url::Url::parse(&format!("https://{host}/"))
            .ok()
            .and_then(|u| u.host_str().map(|h| h == host))
            .unwrap_or(false);
    if !valid {
        return Err(AdminError::invalid(
            "host",
            format!("{host:?} is not a host name (give e.g. app.example.com, no scheme or path)"),
        ));
    }
    let id = crate::cimd::host_block_id(&host);
    let store = state.store.as_ref();
    let changed = match (blocked, store.get_client(&id).await?) {
        (true, Some(mut c)) => {
            c.blocked = true;
            store.update_client(&c).await?
        }
        (true, None) => {
            store
                .insert_client(&document_block_row(state, &id)?)
                .await?;
            true
        }
        (false, _) => store.delete_client(&id).await?,
    };
    if !changed {
        return Ok(false);
    }
    state.registry.invalidate_client(&id);
    let event = if blocked {
        "admin.client.host_blocked"
    } else {
        "admin.client.host_unblocked"
    };
    record(state, actor, event, Some(&id), None, json!({"host": host}));
    Ok(true)
}
