//! Applying resources and clients declared in the config file to the store,
//! idempotently at every start (the declarations and their checks are
//! [`crate::declared`]).

use crate::client_metadata::FieldError;
use crate::config::Config;
use crate::declared::{self, ClientConfig, ResourceConfig};
use authgate_core::clock::UnixTime;
use authgate_core::model::{Client, Resource};
use authgate_core::{resource_uri, secret};
use authgate_store::{Store, StoreError};

pub fn resource_from_config(
    r: &ResourceConfig,
    existing: Option<&Resource>,
    now: UnixTime,
) -> Resource {
    Resource {
        id: r.id.clone(),
        name: r.name.clone(),
        // validated before
        uri: resource_uri::canonicalize(&r.uri).unwrap_or_else(|_| r.uri.clone()),
        scopes: r.scopes.clone(),
        default_scopes: r.default_scopes.clone(),
        access_token_ttl_secs: r
            .access_token_ttl_secs
            .unwrap_or(Resource::DEFAULT_ACCESS_TOKEN_TTL),
        refresh_token_idle_ttl_secs: r
            .refresh_token_idle_ttl_secs
            .unwrap_or(Resource::DEFAULT_REFRESH_IDLE_TTL),
        refresh_token_absolute_ttl_secs: r
            .refresh_token_absolute_ttl_secs
            .unwrap_or(Resource::DEFAULT_REFRESH_ABSOLUTE_TTL),
        allow_dynamic_registration: r.allow_dynamic_registration,
        allow_client_id_metadata_documents: r.allow_client_id_metadata_documents,
        allow_dynamic_client_credentials: r.allow_dynamic_client_credentials,
        documentation_uri: r.documentation_uri.clone(),
        logo_uri: r.logo_uri.clone(),
        signup: r.signup,
        created_at: existing.map(|e| e.created_at).unwrap_or(now),
        updated_at: now,
    }
}

/// The stored client for a declared one (see [`PreRegistered`] for the
/// defaults); `existing` keeps its blocked flag and timestamps.
fn client_from_config(
    c: &ClientConfig,
    secret: Option<&str>,
    existing: Option<&Client>,
    now: UnixTime,
) -> Result<Client, FieldError> {
    declared::pre_registered(c)
        .draft(secret.map(secret::hash))?
        .into_client(now, existing)
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn client_error(i: usize, e: FieldError) -> ProvisionError {
    crate::config::ConfigError::new(format!("clients[{i}].{}", e.field), e.reason).into()
}

/// Writes declared resources and clients; rows that already match are
/// left untouched so restarts do not churn the store.
pub async fn apply(store: &dyn Store, cfg: &Config, now: UnixTime) -> Result<(), ProvisionError> {
    for (i, r) in cfg.resources.iter().enumerate() {
        let existing = store.get_resource(&r.id).await?;
        let mut want = resource_from_config(r, existing.as_ref(), now);
        if let Some(other) = crate::registry::uri_taken_by(store, &want.uri, &r.id).await? {
            return Err(crate::config::ConfigError::new(
                format!("resources[{i}].uri"),
                format!(
                    "MCP server {other:?} is already registered with this URL; two MCP servers \
                     with one URL would make tokens' audience ambiguous (remove or change {other:?})"
                ),
            )
            .into());
        }
        if let Some(e) = &existing {
            want.updated_at = e.updated_at;
            if *e == want {
                continue;
            }
            want.updated_at = now;
        }
        store.upsert_resource(&want).await?;
    }
    for (i, c) in cfg.clients.iter().enumerate() {
        let secret = match (&c.client_secret, &c.client_secret_file) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(f)) => Some(crate::config::read_secret_file(
                &format!("clients[{i}].client_secret_file"),
                f,
            )?),
            _ => None,
        };
        let existing = store.get_client(&c.client_id).await?;
        let want = client_from_config(c, secret.as_deref(), existing.as_ref(), now)
            .map_err(|e| client_error(i, e))?;
        match existing {
            Some(e) if e == want => {}
            Some(_) => {
                store.update_client(&want).await?;
            }
            // Another instance starting at the same moment may have
            // inserted it first: then it is theirs to keep.
            None => match store.insert_client(&want).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}
