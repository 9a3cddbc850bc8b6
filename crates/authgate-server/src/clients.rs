//! Finding the client behind a `client_id` at /authorize and /token, and
//! how to present it to a person on the consent page.
//!
//! Pre-registered and dynamically registered clients come from the store.
//! A `client_id` that is an https URL is a client ID metadata document
//! (CIMD) client: resolved by fetching the document (see `cimd`).

use crate::app::AppState;
use crate::http::error::StoreFailure;
use authgate_core::OAuthError;
use authgate_core::model::{Client, ClientKind};
use std::sync::Arc;

/// Looks a client up by id. `Ok(None)` means unknown.
pub async fn resolve(state: &AppState, client_id: &str) -> Result<Option<Arc<Client>>, OAuthError> {
    if client_id.is_empty() || client_id.len() > 2048 {
        return Ok(None);
    }
    Ok(state
        .registry
        .client(state.store.as_ref(), client_id)
        .await
        .map_err(StoreFailure)?)
}

/// How the consent page describes who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// One short line, e.g. "Registered by an administrator".
    pub how: String,
    /// Whether the page may show a "verified" badge.
    pub verified: bool,
    /// For CIMD clients: the host of the client_id URL.
    pub host: Option<String>,
}

pub fn identity(_state: &AppState, c: &Client) -> ClientIdentity {
    match c.kind {
        ClientKind::PreRegistered => ClientIdentity {
            how: "Registered by an administrator of this server".into(),
            verified: true,
            host: None,
        },
        ClientKind::Dynamic => ClientIdentity {
            how: "Registered itself dynamically — its name is unverified".into(),
            verified: false,
            host: None,
        },
        ClientKind::MetadataDocument => {
            let host = url::Url::parse(&c.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            ClientIdentity {
                how: format!(
                    "Identified by a metadata document at {}",
                    host.as_deref().unwrap_or("an unknown host")
                ),
                verified: false,
                host,
            }
        }
    }
}

/// Per-resource switches: an MCP server may refuse dynamically registered
/// clients or client ID metadata document clients.
pub fn check_allowed_for_resource(
    c: &Client,
    r: &authgate_core::model::Resource,
) -> Result<(), OAuthError> {
    match c.kind {
        ClientKind::Dynamic if !r.allow_dynamic_registration => Err(OAuthError::new(
            authgate_core::ErrorCode::UnauthorizedClient,
            "this MCP server does not accept dynamically registered clients",
        )),
        ClientKind::MetadataDocument if !r.allow_client_id_metadata_documents => {
            Err(OAuthError::new(
                authgate_core::ErrorCode::UnauthorizedClient,
                "this MCP server does not accept client ID metadata document clients",
            ))
        }
        _ => Ok(()),
    }
}
