//! The admin operations, shared by the API and the dashboard: validate
//! (errors name the field), write, invalidate caches, audit. Nothing here
//! knows about HTTP.

use super::setup::{self, Purpose};
use super::types::*;
use crate::app::AppState;
use crate::config::{ClientConfig, ResourceConfig};
use crate::provision;
use authgate_core::model::{
    Client, ClientKind, ClientMetadata, Resource, TokenEndpointAuthMethod, User,
};
use authgate_core::{resource_uri, scope, secret};
use authgate_store::StoreError;
use serde_json::{Value, json};

/// Why an admin operation did not happen.
#[derive(Debug)]
pub enum AdminError {
    /// The input is wrong; `field` names what to fix.
    Invalid {
        field: String,
        description: String,
    },
    NotFound(String),
    /// The change conflicts with existing state (an id in use...).
    Conflict {
        field: String,
        description: String,
    },
    Store(StoreError),
    Internal(String),
}

impl AdminError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            description: description.into(),
        }
    }
    pub fn conflict(field: &str, description: impl Into<String>) -> Self {
        Self::Conflict {
            field: field.into(),
            description: description.into(),
        }
    }
    /// A message fit for a person (no backend details).
    pub fn message(&self) -> String {
        match self {
            Self::Invalid { field, description } | Self::Conflict { field, description } => {
                format!("{field}: {description}")
            }
            Self::NotFound(m) => m.clone(),
            Self::Store(_) | Self::Internal(_) => {
                "the server could not complete the request; try again".into()
            }
        }
    }
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } | Self::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Internal(e) => f.write_str(e),
            other => f.write_str(&other.message()),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Who is making a change (for the audit log).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `client:<id>` for API tokens, the person's email for the dashboard.
    pub name: String,
    pub address: Option<String>,
}

fn record(
    state: &AppState,
    actor: &Actor,
    event: &str,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    detail: Value,
) {
    crate::telemetry::audit_detail(
        state,
        event,
        Some(&actor.name),
        client_id,
        resource_id,
        actor.address.as_deref(),
        "ok",
        detail,
    );
}

/// One page of a list in stable order.
pub fn page<T>(all: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, usize, Option<usize>) {
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(offset).take(limit).collect();
    let next = (offset + items.len() < total).then_some(offset + items.len());
    (items, total, next)
}

// ---------------------------------------------------------------- resources

pub async fn get_resource(state: &AppState, id: &str) -> AdminResult<Resource> {
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
        documentation_uri: input
            .documentation_uri
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    }
}

async fn validate_resource(
    state: &AppState,
    cfg: &ResourceConfig,
    existing_id: Option<&str>,
) -> AdminResult<()> {
    provision::validate_resource_config(cfg).map_err(|(f, d)| AdminError::invalid(f, d))?;
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
    for other in state.store.list_resources().await? {
        if Some(other.id.as_str()) != existing_id && resource_uri::matches(&uri, &other.uri) {
            return Err(AdminError::conflict(
                "uri",
                format!("MCP server {:?} already has this URL", other.id),
            ));
        }
    }
    Ok(())
}

pub async fn create_resource(
    state: &AppState,
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
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: ResourceInput,
) -> AdminResult<Resource> {
    let existing = get_resource(state, id).await?;
    if super::is_builtin(id) {
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
    state: &AppState,
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
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> AdminResult<ResourceImpact> {
    if super::is_builtin(id) {
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

pub fn resource_metadata(state: &AppState, r: &Resource) -> ResourceMetadataView {
    let metadata = crate::resource_metadata::metadata(&state.settings.issuer, r);
    ResourceMetadataView {
        resource_id: r.id.clone(),
        metadata_url: crate::resource_metadata::metadata_url(r),
        www_authenticate: crate::resource_metadata::www_authenticate(r),
        snippets: super::check::snippets(&state.settings.issuer, r, &metadata),
        metadata,
    }
}

// ------------------------------------------------------------------ clients

pub async fn get_client(state: &AppState, id: &str) -> AdminResult<Client> {
    state
        .store
        .get_client(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {id:?}")))
}

pub async fn create_client(
    state: &AppState,
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
        None => secret::generate_id(state.rng.as_ref()),
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
        .then(|| secret::generate(state.rng.as_ref()));
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
    for r in &resources {
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
    state: &AppState,
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
    let s = secret::generate(state.rng.as_ref());
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
    state: &AppState,
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
    state: &AppState,
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
    state: &AppState,
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

// -------------------------------------------------------------------- users

pub fn valid_email(e: &str) -> bool {
    e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && d.contains('.')
                && !d.contains('@')
                && !d.starts_with('.')
                && !d.ends_with('.')
        })
}

pub async fn get_user(state: &AppState, id: &str) -> AdminResult<User> {
    state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user with id {id:?}")))
}

/// How long a password link is valid.
pub const PASSWORD_LINK_TTL: i64 = 24 * 3600;

pub async fn create_user(
    state: &AppState,
    actor: &Actor,
    input: UserInput,
) -> AdminResult<(User, Option<OneTimeLink>)> {
    let email = input.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(AdminError::invalid("email", "is not an email address"));
    }
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(AdminError::invalid(
            "name",
            "must be at most 200 characters",
        ));
    }
    let password_hash = match input.password {
        Some(pw) => {
            crate::passwords::check_password_policy(&pw)
                .map_err(|e| AdminError::invalid("password", e))?;
            state.passwords.hash(pw, state.rng.clone()).await
        }
        // Not a PHC string: no password verifies against it.
        None => "!".to_owned(),
    };
    if password_hash.is_empty() {
        return Err(AdminError::Internal("password hashing failed".into()));
    }
    let needs_link = password_hash == "!";
    let u = User {
        id: secret::generate_id(state.rng.as_ref()),
        email: email.clone(),
        name,
        password_hash,
        disabled: false,
        is_admin: input.is_admin,
        created_at: state.clock.now(),
    };
    match state.store.insert_user(&u).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::conflict(
                "email",
                format!("{email} already has an account"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    record(
        state,
        actor,
        "admin.user.created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "is_admin": u.is_admin}),
    );
    let link = if needs_link {
        Some(
            setup::create_link(
                state,
                Purpose::PasswordReset,
                Some(&u.id),
                PASSWORD_LINK_TTL,
            )
            .await?,
        )
    } else {
        None
    };
    Ok((u, link))
}

pub async fn set_user_disabled(
    state: &AppState,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    if disabled && u.is_admin && !u.disabled {
        let others = state
            .store
            .list_users()
            .await?
            .iter()
            .filter(|o| o.is_admin && !o.disabled && o.id != u.id)
            .count();
        if others == 0 {
            return Err(AdminError::conflict(
                "id",
                "this is the last active administrator; add another before disabling it",
            ));
        }
    }
    u.disabled = disabled;
    if !state.store.update_user(&u).await? {
        return Err(AdminError::NotFound(format!("no user with id {id:?}")));
    }
    let event = if disabled {
        "admin.user.disabled"
    } else {
        "admin.user.enabled"
    };
    record(
        state,
        actor,
        event,
        None,
        None,
        json!({"user_id": u.id, "email": u.email}),
    );
    Ok(u)
}

pub async fn password_link(state: &AppState, actor: &Actor, id: &str) -> AdminResult<OneTimeLink> {
    let u = get_user(state, id).await?;
    let link = setup::create_link(
        state,
        Purpose::PasswordReset,
        Some(&u.id),
        PASSWORD_LINK_TTL,
    )
    .await?;
    record(
        state,
        actor,
        "admin.user.password_link_created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "expires_at": link.expires_at}),
    );
    Ok(link)
}

/// The apps a person allowed: consents and live grants by (client, resource).
pub async fn user_apps(state: &AppState, user_id: &str) -> AdminResult<Vec<AppView>> {
    get_user(state, user_id).await?;
    let store = state.store.as_ref();
    let consents = store.list_consents_for_user(user_id).await?;
    let grants = store.list_grants_for_user(user_id).await?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for (c, r) in consents
        .iter()
        .map(|c| (&c.client_id, &c.resource_id))
        .chain(grants.iter().map(|g| (&g.client_id, &g.resource_id)))
    {
        if !keys.iter().any(|(a, b)| a == c && b == r) {
            keys.push((c.clone(), r.clone()));
        }
    }
    let mut out = Vec::new();
    for (client_id, resource_id) in keys {
        let client_name = match crate::clients::resolve(state, &client_id).await {
            Ok(Some(c)) => c.display_name().to_owned(),
            _ => client_id.clone(),
        };
        let resource_name = match state.registry.resource_by_id(store, &resource_id).await? {
            Some(r) => r.name.clone(),
            None => resource_id.clone(),
        };
        let consent = consents
            .iter()
            .find(|c| c.client_id == client_id && c.resource_id == resource_id);
        out.push(AppView {
            client_name,
            resource_name,
            consented_scopes: consent.map(|c| c.scopes.clone()),
            consented_at: consent.map(|c| c.created_at),
            grants: grants
                .iter()
                .filter(|g| g.client_id == client_id && g.resource_id == resource_id)
                .map(|g| GrantView {
                    id: g.id.clone(),
                    scopes: g.scopes.clone(),
                    created_at: g.created_at,
                    last_used_at: g.last_used_at,
                    expires_at: g.expires_at,
                })
                .collect(),
            client_id,
            resource_id,
        });
    }
    Ok(out)
}

pub async fn revoke_app(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    input: RevokeInput,
) -> AdminResult<Revoked> {
    let u = get_user(state, user_id).await?;
    let client_id = input.client_id.trim();
    let resource_id = input.resource_id.trim();
    if client_id.is_empty() {
        return Err(AdminError::invalid("client_id", "is required"));
    }
    if resource_id.is_empty() {
        return Err(AdminError::invalid("resource_id", "is required"));
    }
    let store = state.store.as_ref();
    let now = state.clock.now();
    let consent_removed = store.delete_consent(&u.id, client_id, resource_id).await?;
    let grants_revoked = store
        .revoke_grants_for(&u.id, client_id, resource_id, now)
        .await?;
    record(
        state,
        actor,
        "consent.revoked",
        Some(client_id),
        Some(resource_id),
        json!({"user_id": u.id, "by": "administrator", "grants_revoked": grants_revoked}),
    );
    Ok(Revoked {
        consent_removed,
        grants_revoked,
    })
}

// --------------------------------------------------------------------- keys

pub async fn list_keys(state: &AppState) -> AdminResult<Vec<KeyView>> {
    let active = state.keys.current().active.kid().to_owned();
    let now = state.clock.now();
    Ok(state
        .store
        .list_signing_keys()
        .await?
        .iter()
        .map(|k| KeyView::new(k, &active, now))
        .collect())
}

pub async fn rotate_key(state: &AppState, actor: &Actor) -> AdminResult<KeyRotated> {
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

pub async fn retire_key(state: &AppState, actor: &Actor, kid: &str) -> AdminResult<KeyRetired> {
    let store = state.store.as_ref();
    if !store
        .list_signing_keys()
        .await?
        .iter()
        .any(|k| k.kid == kid)
    {
        return Err(AdminError::NotFound(format!("no signing key {kid:?}")));
    }
    if state.keys.current().active.kid() == kid {
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

// -------------------------------------------------------------------- audit

pub async fn audit_page(
    state: &AppState,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Weather (prod)"), "weather-prod");
        assert_eq!(slug("  "), "mcp");
        assert_eq!(slug("Ünïcode"), "n-code");
    }

    #[test]
    fn paging() {
        let (items, total, next) = page((0..5).collect::<Vec<_>>(), 0, 2);
        assert_eq!((items, total, next), (vec![0, 1], 5, Some(2)));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 4, 2);
        assert_eq!((items, next), (vec![4], None));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 9, 2);
        assert_eq!((items, next), (vec![], None));
    }

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.d"));
        assert!(!valid_email("@c.d"));
    }
}
