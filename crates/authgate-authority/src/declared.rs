//! MCP servers and clients declared in the config file (`[[resources]]`,
//! `[[clients]]`): their shape and the checks each entry passes. Loading
//! the file (`config`) runs the checks; start-up (`provision`) writes the
//! entries to the store.

use crate::client_draft::PreRegistered;
use crate::resource_ids::{is_builtin, valid_id};
use authgate_core::model::ANY_RESOURCE;
use authgate_core::{resource_uri, scope};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// An MCP server declared in the config file (applied idempotently at start).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    pub id: String,
    pub name: String,
    pub uri: String,
    #[serde(default)]
    pub scopes: Vec<authgate_core::scope::ScopeDef>,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    pub access_token_ttl_secs: Option<i64>,
    pub refresh_token_idle_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    #[serde(default = "yes")]
    pub allow_dynamic_registration: bool,
    #[serde(default = "yes")]
    pub allow_client_id_metadata_documents: bool,
    /// Give dynamic and metadata document clients the client_credentials
    /// grant for this server (off: such clients are anonymous).
    #[serde(default)]
    pub allow_dynamic_client_credentials: bool,
    pub documentation_uri: Option<String>,
    /// The logo the consent page shows for this MCP server.
    pub logo_uri: Option<String>,
    /// Self sign-up from this server's authorization requests: `inherit`
    /// (the instance's `[signup]`), `open` or `closed`.
    #[serde(default)]
    pub signup: authgate_core::model::SignupPolicy,
}

fn yes() -> bool {
    true
}

/// A pre-registered client declared in the config file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_name: Option<String>,
    /// Plain secret (hashed when applied). Prefer `client_secret_file`.
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Resource ids the client may get tokens for; `"*"` for every MCP
    /// server but the admin API (which must be listed by id). Empty: none.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Scopes the client may be granted (absent: any the resource defines).
    pub scopes: Option<Vec<String>>,
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
    if let Some(l) = &r.logo_uri
        && !image_url_ok(l)
    {
        return Err((
            "logo_uri",
            "must be an absolute https URL (http only on localhost or a loopback address)".into(),
        ));
    }
    Ok(())
}

/// Whether `u` may be shown as an image on a sign-in page: https, or http
/// on loopback (a development server); never a script-capable scheme, and
/// no credentials in it (they would be sent by every person's browser).
pub fn image_url_ok(u: &str) -> bool {
    let Ok(url) = url::Url::parse(u) else {
        return false;
    };
    if !url.username().is_empty() || url.password().is_some() || u.len() > 2000 {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        },
        _ => false,
    }
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
    pre_registered(c)
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
    match c
        .resources
        .iter()
        .find(|r| *r != ANY_RESOURCE && !resources.iter().any(|x| &x.id == *r) && !is_builtin(r))
    {
        Some(r) => Err((
            "resources",
            format!("resource {r:?} is not declared in this file"),
        )),
        None => Ok(()),
    }
}

/// A declared client as what an administrator asks for.
pub(crate) fn pre_registered(c: &ClientConfig) -> PreRegistered {
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
