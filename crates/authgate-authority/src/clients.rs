//! Finding the client behind a `client_id` at /authorize and /token, and
//! how to present it to a person on the consent page.
//!
//! Pre-registered and dynamically registered clients come from the store.
//! A `client_id` that is an https URL is a client ID metadata document
//! (CIMD) client: resolved by fetching the document (see `cimd`). A URL id
//! an administrator pre-registered stays a pre-registered client.

use crate::Authority;
use crate::StoreFailure;
use crate::cimd;
use authgate_core::OAuthError;
use authgate_core::model::{Client, ClientKind, Resource};
use std::sync::Arc;

pub use crate::client_services::ClientServices;

/// Looks a client up by id. `Ok(None)` means unknown. A blocked client, or
/// a metadata document that cannot be used, is an `invalid_client` error
/// whose description says why (fit for an error page).
pub async fn resolve(
    state: &Authority,
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
    state: &Authority,
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

/// Whom a token would act for: decides whether the grant is a machine
/// token (`client_credentials`, the client itself) or one a person
/// delegated (authorization code and its refreshes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFor {
    /// A person signed in and consented (authorization code, refresh).
    Person,
    /// The client itself (`client_credentials`).
    Client,
}

/// The one rule on who may get a token for which MCP server, used by
/// /authorize and by /token for every grant (refreshes included, so a
/// changed rule stops tokens already out there at their next refresh):
///
/// - a blocked client gets nothing;
/// - the built-in admin API only for a pre-registered client that lists it
///   by its id — never through `"*"`, never for a dynamic or metadata
///   document client (issue 17: "no resource list" used to mean "any",
///   admin API included);
/// - a pre-registered client only what an administrator listed for it,
///   by id or with `"*"` (every MCP server but the admin API); with no
///   list at all it gets `invalid_target` saying what to configure;
/// - dynamic and metadata document clients have no administrator's list:
///   the MCP server's switches decide (`allow_dynamic_registration`,
///   `allow_client_id_metadata_documents`), and for machine tokens also
///   `allow_dynamic_client_credentials` (off by default: such a client is
///   anonymous, so its machine token would be anybody's).
pub fn check_allowed_for_resource(
    client: &Client,
    resource: &Resource,
    token_for: TokenFor,
) -> Result<(), OAuthError> {
    if client.blocked {
        return Err(OAuthError::invalid_client("this client is blocked"));
    }
    if crate::builtin::is_builtin(&resource.id) {
        if client.kind == ClientKind::PreRegistered && client.lists_resource(&resource.id) {
            return Ok(());
        }
        return Err(OAuthError::invalid_target(format!(
            "the admin API is reachable only by a pre-registered client an administrator \
             granted it by id (resources = [\"{}\"])",
            resource.id
        )));
    }
    match client.kind {
        ClientKind::PreRegistered => {
            if client.resources.is_empty() {
                return Err(not_configured());
            }
            if !client.has_any_resource() && !client.lists_resource(&resource.id) {
                return Err(OAuthError::invalid_target(
                    "the client may not obtain tokens for this resource",
                ));
            }
            Ok(())
        }
        ClientKind::Dynamic | ClientKind::MetadataDocument => {
            let (accepted, what) = if client.kind == ClientKind::Dynamic {
                (
                    resource.allow_dynamic_registration,
                    "dynamically registered clients",
                )
            } else {
                (
                    resource.allow_client_id_metadata_documents,
                    "clients identified by a metadata document",
                )
            };
            if !accepted {
                return Err(OAuthError::unauthorized_client(format!(
                    "{} does not accept {what}",
                    resource.name
                )));
            }
            if token_for == TokenFor::Client && !resource.allow_dynamic_client_credentials {
                return Err(OAuthError::unauthorized_client(format!(
                    "{} does not give {what} the client_credentials grant",
                    resource.name
                )));
            }
            Ok(())
        }
    }
}

/// The scope ceiling that applies to a grant (`scope::negotiate`,
/// `scope::check_ceiling`): for machine tokens the scope the client
/// registered (`Client::scope_ceiling`: RFC 7591 `scope` of a dynamic or
/// metadata document client, `allowed_scopes` of a pre-registered one).
/// For tokens a person delegates, an administrator's `allowed_scopes`
/// still caps, but a dynamic or metadata document client's self-declared
/// `scope` does not: the MCP SDKs register the scope of the first
/// challenge and later step up (403 `insufficient_scope` → /authorize for
/// the union) without re-registering, and there the person's consent to
/// every new scope is the gate. (Measured: the e2e step-up flows of the
/// MCP TypeScript SDK v1 and v2 fail with `invalid_scope` otherwise.)
pub fn scope_ceiling(client: &Client, token_for: TokenFor) -> Option<Vec<String>> {
    match (client.kind, token_for) {
        (ClientKind::Dynamic | ClientKind::MetadataDocument, TokenFor::Person) => {
            client.allowed_scopes.clone()
        }
        _ => client.scope_ceiling(),
    }
}

/// The ceiling of a machine token (`client_credentials`) for `resource`.
/// An anonymous (dynamic or metadata document) client that registered no
/// `scope` is capped at the resource's default scopes, never "any": with
/// no person to consent, only what a client declared, or the least the
/// MCP server hands out by default, may be granted.
pub fn machine_scope_ceiling(client: &Client, resource: &Resource) -> Option<Vec<String>> {
    match (client.kind, scope_ceiling(client, TokenFor::Client)) {
        (ClientKind::Dynamic | ClientKind::MetadataDocument, None) => {
            Some(resource.default_scopes.clone())
        }
        (_, ceiling) => ceiling,
    }
}

/// The refusal for a pre-registered client an administrator granted no
/// MCP server: it says what to configure.
pub fn not_configured() -> OAuthError {
    OAuthError::invalid_target(
        "no MCP server is granted to this client: an administrator must list the resources \
         it may use (config `resources = [\"<id>\"]`, or `[\"*\"]` for every MCP server but \
         the admin API; `authgate client add --resource <id>|'*'`)",
    )
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

fn trusted_domains(state: &Authority) -> impl Iterator<Item = &str> {
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
pub fn name_names_trusted_host(state: &Authority, name: &str) -> Option<String> {
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
fn name_resembles_trusted_host(state: &Authority, name: &str) -> Option<String> {
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

pub fn identity(state: &Authority, c: &Client) -> ClientIdentity {
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
