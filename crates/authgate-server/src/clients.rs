//! Finding the client behind a `client_id` at /authorize and /token, and
//! how to present it to a person on the consent page.
//!
//! Pre-registered and dynamically registered clients come from the store.
//! A `client_id` that is an https URL is a client ID metadata document
//! (CIMD) client: resolved by fetching the document (see `cimd`). A URL id
//! an administrator pre-registered stays a pre-registered client.

use crate::app::AppState;
use crate::cimd::{self, DocumentCache, jwks::JwksCache};
use crate::config::{ConfigError, Settings};
use crate::endpoints::register::RegistrationGuard;
use crate::http::error::StoreFailure;
use crate::outbound::{AddressPolicy, FetchLimits, Fetcher};
use authgate_core::OAuthError;
use authgate_core::model::{Client, ClientKind, Resource};
use std::sync::Arc;
use std::time::Duration;

/// Process-wide state of client registration: the SSRF-guarded fetcher,
/// the document and client-JWKS caches, and the registration rate limiter;
/// and the fetcher of the admin connection check (the same fetcher and
/// address policy, with the private-network switch when configured).
pub struct ClientServices {
    pub fetcher: Fetcher,
    pub connection_check: Fetcher,
    pub documents: DocumentCache,
    pub jwks: JwksCache,
    pub registration: RegistrationGuard,
}

impl ClientServices {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let c = &settings.raw.cimd;
        let fetcher = Fetcher::new(
            AddressPolicy {
                allow_loopback: c.allow_loopback,
                allow_private: false,
            },
            FetchLimits {
                max_bytes: c.max_document_bytes,
                connect_timeout: Duration::from_millis(c.connect_timeout_ms),
                timeout: Duration::from_millis(c.timeout_ms),
                max_concurrent: cimd::MAX_CONCURRENT_FETCHES,
                per_host: c.max_fetches_per_host,
                negative_cache: Duration::from_secs(c.negative_cache_secs),
            },
            "authgate",
        )
        .map_err(|e| ConfigError::new("cimd", e))?;
        let connection_check = Fetcher::new(
            AddressPolicy {
                allow_loopback: false,
                allow_private: settings.raw.admin_connection_check_allow_private,
            },
            FetchLimits::connection_check(),
            "authgate-connection-check",
        )
        .map_err(|e| ConfigError::new("admin_connection_check_allow_private", e))?;
        Ok(Self {
            fetcher,
            connection_check,
            documents: DocumentCache::new(Duration::from_secs(c.negative_cache_secs)),
            jwks: JwksCache::new(Duration::from_secs(c.negative_cache_secs)),
            registration: RegistrationGuard::new(&settings.raw.dynamic_registration),
        })
    }
}

/// Looks a client up by id. `Ok(None)` means unknown. A blocked client, or
/// a metadata document that cannot be used, is an `invalid_client` error
/// whose description says why (fit for an error page).
pub async fn resolve(state: &AppState, client_id: &str) -> Result<Option<Arc<Client>>, OAuthError> {
    if client_id.is_empty() || client_id.len() > 2048 {
        return Ok(None);
    }
    let stored = state
        .registry
        .client(state.store.as_ref(), client_id)
        .await
        .map_err(StoreFailure)?;
    let c = match stored {
        Some(c) if c.kind != ClientKind::MetadataDocument => c,
        stored if cimd::is_document_url(client_id, &state.settings.raw.cimd) => {
            cimd::resolve(state, client_id, stored).await?
        }
        Some(c) => c,
        None => return Ok(None),
    };
    if c.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    Ok(Some(c))
}

/// Like [`resolve`], for client authentication at the token, introspection
/// and revocation endpoints: a metadata document client already known from
/// an authorization is taken as stored (its document host being down must
/// not break refreshes); host rules and blocks still apply. Blocked
/// clients are returned (the caller refuses them).
pub async fn resolve_for_token_endpoint(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Arc<Client>>, OAuthError> {
    if client_id.is_empty() || client_id.len() > 2048 {
        return Ok(None);
    }
    let stored = state
        .registry
        .client(state.store.as_ref(), client_id)
        .await
        .map_err(StoreFailure)?;
    match stored {
        Some(c) if c.kind == ClientKind::MetadataDocument => {
            cimd::check_stored(state, &c).await?;
            Ok(Some(c))
        }
        Some(c) => Ok(Some(c)),
        None if cimd::is_document_url(client_id, &state.settings.raw.cimd) => {
            cimd::resolve(state, client_id, None).await.map(Some)
        }
        None => Ok(None),
    }
}

/// Whether `client` may be used with the MCP server `resource`: not
/// blocked, allowed by the client's own resource list, and — for dynamic
/// and metadata document clients — by the resource's switches
/// (`allow_dynamic_registration`, `allow_client_id_metadata_documents`).
pub fn check_allowed_for_resource(client: &Client, resource: &Resource) -> Result<(), OAuthError> {
    if client.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    match client.kind {
        ClientKind::Dynamic if !resource.allow_dynamic_registration => {
            return Err(OAuthError::unauthorized_client(format!(
                "{} does not accept dynamically registered clients",
                resource.name
            )));
        }
        ClientKind::MetadataDocument if !resource.allow_client_id_metadata_documents => {
            return Err(OAuthError::unauthorized_client(format!(
                "{} does not accept clients identified by a metadata document",
                resource.name
            )));
        }
        _ => {}
    }
    if !client.resources.is_empty() && !client.resources.iter().any(|r| r == &resource.id) {
        return Err(OAuthError::invalid_target(
            "the client may not obtain tokens for this resource",
        ));
    }
    Ok(())
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
    /// Set when an unverified client's name resembles a trusted host's
    /// (e.g. a dynamic client called "Claude …" while claude.ai is
    /// trusted): a line the page should show next to the name.
    pub name_warning: Option<String>,
}

fn squash(s: &str, keep_dots: bool) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || (keep_dots && *c == '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn trusted_domains(state: &AppState) -> impl Iterator<Item = &str> {
    state
        .settings
        .raw
        .cimd
        .trusted_hosts
        .iter()
        .map(|h| h.strip_prefix("*.").unwrap_or(h))
}

/// The trusted host a client name spells out (ignoring case, spaces and
/// punctuation other than dots), if any. Dynamic registrations with such a
/// name are refused.
pub fn name_names_trusted_host(state: &AppState, name: &str) -> Option<String> {
    let n = squash(name, true);
    trusted_domains(state)
        .find(|h| {
            let h = squash(h, true);
            !h.is_empty() && n.contains(&h)
        })
        .map(str::to_owned)
}

/// The trusted host whose leading label (e.g. "claude" of claude.ai) an
/// unverified client's name contains.
fn name_resembles_trusted_host(state: &AppState, name: &str) -> Option<String> {
    let n = squash(name, false);
    trusted_domains(state)
        .find(|h| {
            let label = squash(h.split('.').next().unwrap_or(""), false);
            label.len() >= 3 && n.contains(&label)
        })
        .map(str::to_owned)
}

/// `how`, followed by the name warning when there is one (pages that show
/// only `how` still show the warning).
fn with_warning(how: String, warning: &Option<String>) -> String {
    match warning {
        Some(w) => format!("{how}. {w}"),
        None => how,
    }
}

pub fn identity(state: &AppState, c: &Client) -> ClientIdentity {
    let warn = |c: &Client| {
        c.metadata
            .client_name
            .as_deref()
            .and_then(|n| name_resembles_trusted_host(state, n))
            .map(|h| format!("This name is not verified: the client does not come from {h}."))
    };
    match c.kind {
        ClientKind::PreRegistered => ClientIdentity {
            how: "Registered by an administrator of this server".into(),
            verified: true,
            host: None,
            name_warning: None,
        },
        ClientKind::Dynamic => {
            let name_warning = warn(c);
            ClientIdentity {
                how: with_warning(
                    "Registered itself dynamically — its name is unverified".into(),
                    &name_warning,
                ),
                verified: false,
                host: None,
                name_warning,
            }
        }
        ClientKind::MetadataDocument => {
            let host = url::Url::parse(&c.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            let verified = host
                .as_deref()
                .is_some_and(|h| cimd::host_matches(h, &state.settings.raw.cimd.trusted_hosts));
            let name_warning = if verified { None } else { warn(c) };
            ClientIdentity {
                how: with_warning(
                    match (&host, verified) {
                        (Some(h), true) => format!("Verified: identified by its domain {h}"),
                        (Some(h), false) => format!(
                            "Identified by a metadata document at {h} — the name is chosen by that site"
                        ),
                        (None, _) => "Identified by a metadata document at an unknown host".into(),
                    },
                    &name_warning,
                ),
                verified,
                name_warning,
                host,
            }
        }
    }
}
