//! Applying resources and clients declared in the config file to the store,
//! idempotently at every start, and validating their declarations.

use crate::client_draft::PreRegistered;
use crate::client_metadata::FieldError;
use crate::config::{ClientConfig, Config, ResourceConfig};
use authgate_core::clock::UnixTime;
use authgate_core::model::{ANY_RESOURCE, Client, Resource};
use authgate_core::{resource_uri, scope, secret};
use authgate_store::{Store, StoreError};

/// Resource ids: short, URL-safe identifiers.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub fn validate_resource_config(r: &ResourceConfig) -> Result<(), (&'static str, String)> {
    if !valid_id(&r.id) {
        return Err((
            "id",
            "must be 1-64 characters of letters, digits, '-', '_' or '.'".into(),
        ));
    }
    if r.name.trim().is_empty() || r.name.len() > 200 {
        return Err(("name", "must be 1-200 characters".into()));
    }
    resource_uri::canonicalize(&r.uri).map_err(|e| ("uri", e.to_string()))?;
    validate_scopes(&r.scopes, &r.default_scopes)?;
    for (k, v) in [
        ("access_token_ttl_secs", r.access_token_ttl_secs),
        ("refresh_token_idle_ttl_secs", r.refresh_token_idle_ttl_secs),
        (
            "refresh_token_absolute_ttl_secs",
            r.refresh_token_absolute_ttl_secs,
        ),
    ] {
        if let Some(v) = v
            && !(60..=366 * 86400).contains(&v)
        {
            return Err((k, "must be between 60 and 31622400 seconds".into()));
        }
    }
    if let Some(d) = &r.documentation_uri {
        url::Url::parse(d)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or((
                "documentation_uri",
                "must be an absolute http(s) URL".to_string(),
            ))?;
    }
    Ok(())
}

/// Scope definitions: valid names, no duplicates, implications and
/// defaults refer to defined scopes, `offline_access` is not a resource
/// scope (MCP servers must not advertise it).
pub fn validate_scopes(
    defs: &[scope::ScopeDef],
    defaults: &[String],
) -> Result<(), (&'static str, String)> {
    for (i, d) in defs.iter().enumerate() {
        if !scope::is_scope_token(&d.name) {
            return Err((
                "scopes",
                format!("scope {:?} is not a valid scope name", d.name),
            ));
        }
        if scope::OIDC_SCOPES.contains(&d.name.as_str()) {
            return Err((
                "scopes",
                format!("{:?} is reserved for OpenID Connect", d.name),
            ));
        }
        if defs[..i].iter().any(|x| x.name == d.name) {
            return Err(("scopes", format!("scope {:?} is defined twice", d.name)));
        }
        for imp in &d.implies {
            if !defs.iter().any(|x| &x.name == imp) {
                return Err((
                    "scopes",
                    format!("{:?} implies undefined scope {imp:?}", d.name),
                ));
            }
        }
    }
    for s in defaults {
        if !defs.iter().any(|x| &x.name == s) {
            return Err(("default_scopes", format!("{s:?} is not a defined scope")));
        }
    }
    Ok(())
}

/// Checks a client declared in the config file: its secret as the file
/// gives it, then the rules every pre-registered client obeys
/// ([`crate::client_draft`]), then that listed MCP servers are declared.
pub fn validate_client_config(
    c: &ClientConfig,
    resources: &[ResourceConfig],
) -> Result<(), (&'static str, String)> {
    let holds_secret = check_secret_source(c)?;
    declared(c)
        .check_declared(holds_secret)
        .map_err(|e| (e.field, e.reason))?;
    check_declared_resources(c, resources)
}

/// `client_secret` or `client_secret_file`, not both; a written secret is
/// long. Returns whether the client has a secret.
fn check_secret_source(c: &ClientConfig) -> Result<bool, (&'static str, String)> {
    if c.client_secret.is_some() && c.client_secret_file.is_some() {
        return Err((
            "client_secret_file",
            "give client_secret or client_secret_file, not both".into(),
        ));
    }
    if let Some(s) = &c.client_secret
        && s.len() < 32
    {
        return Err(("client_secret", "must be at least 32 characters".into()));
    }
    Ok(c.client_secret.is_some() || c.client_secret_file.is_some())
}

/// Listed MCP servers are declared in the same file (or built in). They
/// may exist in the store already: only catch obvious typos when the file
/// declares MCP servers.
fn check_declared_resources(
    c: &ClientConfig,
    resources: &[ResourceConfig],
) -> Result<(), (&'static str, String)> {
    if resources.is_empty() {
        return Ok(());
    }
    match c.resources.iter().find(|r| {
        *r != ANY_RESOURCE
            && !resources.iter().any(|x| &x.id == *r)
            && !crate::builtin::is_builtin(r)
    }) {
        Some(r) => Err((
            "resources",
            format!("resource {r:?} is not declared in this file"),
        )),
        None => Ok(()),
    }
}

/// A declared client as what an administrator asks for.
fn declared(c: &ClientConfig) -> PreRegistered {
    PreRegistered {
        client_id: c.client_id.clone(),
        client_name: c.client_name.clone(),
        token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
        redirect_uris: c.redirect_uris.clone(),
        grant_types: c.grant_types.clone(),
        resources: c.resources.clone(),
        scopes: c.scopes.clone(),
    }
}

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
    declared(c)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(f: impl FnOnce(&mut ClientConfig)) -> Result<(), (&'static str, String)> {
        let mut c = ClientConfig {
            client_id: "svc".into(),
            client_name: None,
            client_secret: Some("s".repeat(32)),
            client_secret_file: None,
            token_endpoint_auth_method: None,
            redirect_uris: vec![],
            grant_types: vec![],
            resources: vec![],
            scopes: None,
        };
        f(&mut c);
        validate_client_config(&c, &[])
    }

    /// Behaviour changes of the config file, which now checks a declared
    /// client as the admin API does (`client_draft`): each was accepted.
    #[test]
    fn declared_clients_obey_the_admin_api_rules() {
        let field = |r: Result<(), (&'static str, String)>| r.unwrap_err().0;
        // A public client with client_credentials.
        assert_eq!(
            field(declared(|c| {
                c.client_secret = None;
                c.grant_types = vec!["client_credentials".into()];
            })),
            "grant_types"
        );
        // The authorization_code grant without a redirect URI.
        assert_eq!(
            field(declared(
                |c| c.grant_types = vec!["authorization_code".into()]
            )),
            "redirect_uris"
        );
        // A scope list with something that is not a scope.
        assert_eq!(
            field(declared(|c| c.scopes = Some(vec!["a b".into()]))),
            "scopes"
        );
        // A name longer than 200 characters.
        assert_eq!(
            field(declared(|c| c.client_name = Some("n".repeat(201)))),
            "client_name"
        );
        // What was accepted still is.
        assert!(declared(|_| {}).is_ok());
        assert!(
            declared(|c| {
                c.client_secret = None;
                c.client_secret_file = Some("/run/secret".into());
            })
            .is_ok()
        );
    }
}
