//! Operator changes to upstream connections: the CLI, the admin API and
//! the dashboard call these. A client secret is sealed with the
//! key-encryption key before it is stored, and never returned. Every
//! change is audited (`admin.connection.*`).

use crate::Authority;
use crate::federation::oidc::{
    CLIENT_KEY_ALGS, ConnectionSecrets, OidcSettings, PrivateKey, open_secrets, seal_secrets,
};
use crate::federation::presets;
use crate::federation::saml::{self, SamlConnectionConfig, SamlSp};
use crate::manage::{Actor, AdminError, AdminResult};
use authgate_core::connection::{Connection, ConnectionKind, valid_connection_id};
use authgate_core::org::normalize_domain;
use authgate_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const MAX_NAME: usize = 100;
const MAX_CLIENT_ID: usize = 512;
const MAX_SECRET: usize = 4096;
const MAX_DOMAINS: usize = 64;

/// A new OpenID Connect or GitHub connection, or the full set of its
/// editable fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConnectionInput {
    /// Slug `[a-z0-9_-]`, 1-64 characters (ignored on edit).
    #[serde(default)]
    pub id: String,
    /// `google`, `microsoft`, `github`, `okta`, `auth0`, `keycloak`,
    /// `gitlab`; none for a generic OpenID Connect issuer (ignored on edit).
    #[serde(default)]
    pub preset: Option<String>,
    /// What people see; defaults to the preset's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The OpenID Connect issuer (required without a preset and for the
    /// okta/auth0/keycloak presets).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The client id the provider issued (OpenID Connect and GitHub).
    #[serde(default)]
    pub client_id: String,
    /// Write-only. On edit, absent keeps the stored secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, or
    /// `private_key_jwt`: authgate makes a key for the connection and
    /// publishes its public half at `jwks_uri` (register that at the
    /// provider); no client secret then.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// `private_key_jwt` only: `RS256` (default; every provider takes it)
    /// or `ES256`, for a new key.
    #[serde(default)]
    pub client_key_alg: Option<String>,
    /// `private_key_jwt` only, on edit: replace the key with a new one
    /// (the provider reads the new public key from `jwks_uri`).
    #[serde(default)]
    pub rotate_key: bool,
    /// Email domains this upstream is trusted for (linking to existing
    /// local accounts with a verified email).
    #[serde(default)]
    pub trusted_email_domains: Vec<String>,
    #[serde(default)]
    pub show_on_login: bool,
    /// A SAML 2.0 identity provider instead of OpenID Connect (no preset,
    /// issuer, client id or secret then). Not changeable on edit.
    #[serde(default)]
    pub saml: Option<SamlInput>,
}

/// The settings of a SAML 2.0 identity provider.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SamlInput {
    /// The IdP's entity id (the Issuer of its responses).
    pub idp_entity_id: String,
    /// The IdP's SingleSignOnService URL for the HTTP-Redirect binding.
    pub sso_url: String,
    /// The IdP's signing certificates (PEM or base64 DER). On edit, empty
    /// keeps the stored ones.
    #[serde(default)]
    pub idp_certificates: Vec<String>,
    /// An attribute to use as the subject instead of the NameID (needed
    /// when the IdP sends transient NameIDs).
    #[serde(default)]
    pub subject_attribute: Option<String>,
    /// Trust this IdP's email addresses in every domain (otherwise only in
    /// `trusted_email_domains`).
    #[serde(default)]
    pub trust_email: bool,
}

/// A connection as the operator sees it: no secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub preset: Option<String>,
    #[schema(value_type = Object)]
    pub config: Value,
    pub has_secret: bool,
    pub trusted_email_domains: Vec<String>,
    pub show_on_login: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Register this redirect URI at the upstream (for SAML: the ACS URL).
    pub redirect_uri: String,
    /// `private_key_jwt`: the connection's public key set; register this
    /// URL (or the key in it) at the upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// SAML: this service provider's entity id, which is also the URL of
    /// its metadata.
    pub sp_entity_id: Option<String>,
    /// SAML: the Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: Option<String>,
}

/// The callback URL of connection `id` (its own redirect URI: a response
/// for one upstream cannot be replayed at another's callback).
pub fn redirect_uri(state: &Authority, id: &str) -> String {
    format!(
        "{}/federation/{id}/callback",
        state.settings.issuer.trim_end_matches('/')
    )
}

/// Where connection `id` publishes its `private_key_jwt` public key.
pub fn jwks_uri(state: &Authority, id: &str) -> String {
    format!(
        "{}/federation/{id}/jwks.json",
        state.settings.issuer.trim_end_matches('/')
    )
}

pub fn view(state: &Authority, c: &Connection) -> ConnectionView {
    let private_key = OidcSettings::of(c).is_ok_and(|s| s.uses_private_key());
    let saml = c.kind == ConnectionKind::Saml;
    let issuer = &state.settings.issuer;
    ConnectionView {
        id: c.id.clone(),
        kind: c.kind.as_str().to_owned(),
        display_name: c.display_name.clone(),
        preset: c.preset.clone(),
        config: c.config.clone(),
        has_secret: c.secret_sealed.is_some(),
        trusted_email_domains: c.trusted_email_domains.clone(),
        show_on_login: c.show_on_login,
        disabled: c.disabled,
        created_at: c.created_at,
        redirect_uri: if saml {
            saml::acs_url(issuer, &c.id)
        } else {
            redirect_uri(state, &c.id)
        },
        jwks_uri: private_key.then(|| jwks_uri(state, &c.id)),
        sp_entity_id: saml.then(|| saml::sp_entity_id(issuer, &c.id)),
        acs_url: saml.then(|| saml::acs_url(issuer, &c.id)),
    }
}

/// An operator's change, audited through the one `manage::record`.
fn record(state: &Authority, actor: &Actor, event: &str, detail: Value) {
    crate::manage::record(state, actor, event, None, None, detail);
}

async fn get(state: &Authority, id: &str) -> AdminResult<Connection> {
    state
        .store
        .get_connection(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no connection with id {id:?}")))
}

pub async fn list_connections(state: &Authority) -> AdminResult<Vec<ConnectionView>> {
    Ok(state
        .store
        .list_connections()
        .await?
        .iter()
        .map(|c| view(state, c))
        .collect())
}

pub async fn show_connection(state: &Authority, id: &str) -> AdminResult<ConnectionView> {
    Ok(view(state, &get(state, id).await?))
}

fn clean_domains(v: &[String]) -> AdminResult<Vec<String>> {
    if v.len() > MAX_DOMAINS {
        return Err(AdminError::invalid(
            "trusted_email_domains",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for d in v {
        let d = normalize_domain(d)
            .map_err(|e| AdminError::invalid("trusted_email_domains", e.to_string()))?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// The settings `input` describes for a connection of `preset` (or
/// generic OIDC), checked.
fn settings(
    state: &Authority,
    preset: Option<&presets::Preset>,
    input: &ConnectionInput,
) -> AdminResult<(ConnectionKind, OidcSettings)> {
    let client_id = input.client_id.trim();
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(AdminError::invalid(
            "client_id",
            "give the client id the provider issued",
        ));
    }
    let issuer = input.issuer.as_deref().map(str::trim);
    let (kind, mut s) = match preset {
        Some(p) => (
            p.kind,
            presets::settings_for(p, client_id, issuer)
                .map_err(|e| AdminError::invalid("issuer", e))?,
        ),
        None => {
            let issuer = issuer.filter(|i| !i.is_empty()).ok_or_else(|| {
                AdminError::invalid("issuer", "give the issuer URL, or choose a preset")
            })?;
            (
                ConnectionKind::Oidc,
                OidcSettings {
                    issuer: issuer.to_owned(),
                    client_id: client_id.to_owned(),
                    scopes: Vec::new(),
                    token_endpoint_auth_method: "client_secret_basic".into(),
                    tenant_issuer: false,
                    authorization_endpoint: None,
                    token_endpoint: None,
                    api_base: None,
                },
            )
        }
    };
    if kind == ConnectionKind::Oidc {
        state
            .federation
            .url_ok(&s.issuer)
            .map_err(|_| AdminError::invalid("issuer", "the issuer must be an https URL"))?;
    }
    s.scopes = input
        .scopes
        .iter()
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect();
    if s.scopes.iter().any(|x| x.len() > 128 || x.contains(' ')) || s.scopes.len() > 32 {
        return Err(AdminError::invalid(
            "scopes",
            "at most 32 scopes without spaces",
        ));
    }
    if let Some(m) = &input.token_endpoint_auth_method {
        s.token_endpoint_auth_method = m.clone();
    }
    if !crate::federation::oidc::AUTH_METHODS.contains(&s.token_endpoint_auth_method.as_str()) {
        return Err(AdminError::invalid(
            "token_endpoint_auth_method",
            "use client_secret_basic, client_secret_post or private_key_jwt",
        ));
    }
    if s.uses_private_key() && kind == ConnectionKind::Github {
        return Err(AdminError::invalid(
            "token_endpoint_auth_method",
            "GitHub takes only a client secret",
        ));
    }
    Ok((kind, s))
}

fn display_name(input: &ConnectionInput, preset: Option<&presets::Preset>) -> AdminResult<String> {
    let name = input
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or(preset.map(|p| p.display_name))
        .ok_or_else(|| AdminError::invalid("display_name", "give the name people see"))?;
    if name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "display_name",
            format!("at most {MAX_NAME} characters, no control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn checked_secret(secret: &str) -> AdminResult<String> {
    if secret.is_empty() || secret.len() > MAX_SECRET {
        return Err(AdminError::invalid(
            "client_secret",
            "give the client secret the provider issued",
        ));
    }
    Ok(secret.to_owned())
}

/// The secrets a connection with settings `s` keeps after `input`, given
/// what it had (`old`, none for a new connection): a client secret for
/// the secret methods (the new one, else the stored one), or the
/// connection's own key for `private_key_jwt` (kept unless rotated or of
/// another algorithm; made when missing). One kind only: switching
/// methods drops the other.
fn next_secrets(
    state: &Authority,
    s: &OidcSettings,
    input: &ConnectionInput,
    old: Option<ConnectionSecrets>,
) -> AdminResult<ConnectionSecrets> {
    let old = old.unwrap_or_default();
    if !s.uses_private_key() {
        if input.client_key_alg.is_some() || input.rotate_key {
            return Err(AdminError::invalid(
                "token_endpoint_auth_method",
                "a client key is for private_key_jwt only",
            ));
        }
        let secret = match &input.client_secret {
            Some(x) => checked_secret(x)?,
            None => old.client_secret.ok_or_else(|| {
                AdminError::invalid(
                    "client_secret",
                    "give the client secret the provider issued",
                )
            })?,
        };
        return Ok(ConnectionSecrets {
            client_secret: Some(secret),
            private_key: None,
        });
    }
    if input.client_secret.is_some() {
        return Err(AdminError::invalid(
            "client_secret",
            "private_key_jwt uses the connection's own key, not a client secret",
        ));
    }
    let alg = input.client_key_alg.as_deref().map(str::trim);
    if let Some(a) = alg
        && !CLIENT_KEY_ALGS.contains(&a)
    {
        return Err(AdminError::invalid(
            "client_key_alg",
            format!("use one of {}", CLIENT_KEY_ALGS.join(", ")),
        ));
    }
    let keep = old
        .private_key
        .filter(|k| !input.rotate_key && alg.is_none_or(|a| a == k.alg));
    let key = match keep {
        Some(k) => k,
        None => PrivateKey::generate(alg.unwrap_or("RS256"), state.rng.as_ref())
            .map_err(AdminError::Internal)?,
    };
    Ok(ConnectionSecrets {
        client_secret: None,
        private_key: Some(key),
    })
}

fn sealed(state: &Authority, id: &str, secrets: &ConnectionSecrets) -> AdminResult<Vec<u8>> {
    seal_secrets(state, id, secrets).map_err(AdminError::Internal)
}

pub async fn create_connection(
    state: &Authority,
    actor: &Actor,
    input: ConnectionInput,
) -> AdminResult<ConnectionView> {
    let id = input.id.trim().to_owned();
    if !valid_connection_id(&id) {
        return Err(AdminError::invalid(
            "id",
            "use 1 to 64 lower-case letters, digits, '-' and '_'",
        ));
    }
    if let Some(si) = &input.saml {
        let c = Connection {
            display_name: display_name(&input, None)?,
            secret_sealed: None,
            kind: ConnectionKind::Saml,
            preset: None,
            config: saml_config(state, &id, si, None)?,
            trusted_email_domains: clean_domains(&input.trusted_email_domains)?,
            show_on_login: input.show_on_login,
            disabled: false,
            created_at: state.clock.now(),
            id,
        };
        return insert(state, actor, c).await;
    }
    let preset = match input.preset.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(presets::preset(p).ok_or_else(|| {
            AdminError::invalid(
                "preset",
                format!(
                    "unknown preset; use one of {}",
                    presets::PRESETS.map(|p| p.name).join(", ")
                ),
            )
        })?),
        None => None,
    };
    let (kind, s) = settings(state, preset, &input)?;
    let secrets = next_secrets(state, &s, &input, None)?;
    let c = Connection {
        display_name: display_name(&input, preset)?,
        secret_sealed: Some(sealed(state, &id, &secrets)?),
        id,
        kind,
        preset: preset.map(|p| p.name.to_owned()),
        config: serde_json::to_value(&s).map_err(|e| AdminError::Internal(e.to_string()))?,
        trusted_email_domains: clean_domains(&input.trusted_email_domains)?,
        show_on_login: input.show_on_login,
        disabled: false,
        created_at: state.clock.now(),
    };
    insert(state, actor, c).await
}

async fn insert(state: &Authority, actor: &Actor, c: Connection) -> AdminResult<ConnectionView> {
    state
        .store
        .insert_connection(&c)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AdminError::conflict("id", "a connection has this id"),
            e => e.into(),
        })?;
    record(
        state,
        actor,
        "admin.connection.created",
        json!({"connection": c.id, "kind": c.kind.as_str(), "preset": c.preset}),
    );
    Ok(view(state, &c))
}

pub async fn update_connection(
    state: &Authority,
    actor: &Actor,
    id: &str,
    input: ConnectionInput,
) -> AdminResult<ConnectionView> {
    let mut c = get(state, id).await?;
    if c.kind == ConnectionKind::Saml {
        return update_saml(state, actor, c, input).await;
    }
    if input.saml.is_some() {
        return Err(AdminError::invalid(
            "saml",
            "this is not a SAML connection: remove it and add a SAML one",
        ));
    }
    let preset = c.preset.as_deref().and_then(presets::preset);
    // No method given keeps the connection's (and with it its key or
    // secret), rather than falling back to the default.
    let mut input = input;
    if input.token_endpoint_auth_method.is_none() {
        input.token_endpoint_auth_method = OidcSettings::of(&c)
            .ok()
            .map(|o| o.token_endpoint_auth_method);
    }
    let (_, mut s) = settings(state, preset, &input)?;
    // GitHub's endpoints (GitHub Enterprise Server) are not edited here:
    // keep what is stored.
    if c.kind == ConnectionKind::Github
        && let Ok(old) = OidcSettings::of(&c)
    {
        s.authorization_endpoint = old.authorization_endpoint.or(s.authorization_endpoint);
        s.token_endpoint = old.token_endpoint.or(s.token_endpoint);
        s.api_base = old.api_base.or(s.api_base);
    }
    if let Ok(old) = OidcSettings::of(&c) {
        // People are linked by (connection, upstream subject), and a
        // subject means someone only at its issuer: another issuer's
        // "sub 123" is a different person, who would sign in as ours.
        // So the issuer is fixed; another issuer is another connection.
        if old.issuer != s.issuer {
            return Err(AdminError::invalid(
                "issuer",
                "a connection's issuer cannot change (its people are linked to subjects at that issuer): add a new connection instead",
            ));
        }
        // Another client is a new relationship: the stored secret must not
        // be sent for it (secrets are write-only), so a new one is required.
        if old.client_id != s.client_id && input.client_secret.is_none() && !s.uses_private_key() {
            return Err(AdminError::invalid(
                "client_secret",
                "the client id changed: give the client secret for the new one",
            ));
        }
    }
    c.display_name = display_name(&input, preset)?;
    c.config = serde_json::to_value(&s).map_err(|e| AdminError::Internal(e.to_string()))?;
    c.trusted_email_domains = clean_domains(&input.trusted_email_domains)?;
    c.show_on_login = input.show_on_login;
    let old_secrets = open_secrets(state, &c).map_err(AdminError::Internal)?;
    let old_kid = old_secrets.private_key.as_ref().map(|k| k.kid.clone());
    let secrets = next_secrets(state, &s, &input, Some(old_secrets))?;
    let secret_changed = input.client_secret.is_some()
        || secrets.private_key.as_ref().map(|k| k.kid.clone()) != old_kid;
    c.secret_sealed = Some(sealed(state, &c.id, &secrets)?);
    save(state, &c).await?;
    record(
        state,
        actor,
        "admin.connection.updated",
        json!({"connection": c.id, "secret_changed": secret_changed,
               "trusted_email_domains": c.trusted_email_domains, "show_on_login": c.show_on_login}),
    );
    Ok(view(state, &c))
}

/// The checked settings of a SAML connection: the entity id, an http(s)
/// SSO URL the outbound policy allows, and certificates that parse (a
/// [`SamlSp`] is built from them, so what is stored can sign people in).
/// `stored`: the certificates kept when none are given (edit).
fn saml_config(
    state: &Authority,
    id: &str,
    si: &SamlInput,
    stored: Option<&SamlConnectionConfig>,
) -> AdminResult<Value> {
    let entity = si.idp_entity_id.trim();
    if entity.is_empty() || entity.len() > 1024 || entity.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "idp_entity_id",
            "give the identity provider's entity id (its metadata's entityID)",
        ));
    }
    let sso = si.sso_url.trim();
    state.federation.url_ok(sso).map_err(|_| {
        AdminError::invalid(
            "sso_url",
            "the SingleSignOnService URL must be an https URL without a fragment",
        )
    })?;
    let mut certs: Vec<String> = si
        .idp_certificates
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if certs.is_empty()
        && let Some(old) = stored
    {
        certs = old.idp_certificates.clone();
    }
    if certs.is_empty() {
        return Err(AdminError::invalid(
            "idp_certificates",
            "give the identity provider's signing certificate (PEM)",
        ));
    }
    if certs.len() > 8 || certs.iter().any(|c| c.len() > 16 * 1024) {
        return Err(AdminError::invalid(
            "idp_certificates",
            "at most 8 certificates of 16 KiB each",
        ));
    }
    for c in &certs {
        check_certificate(c)?;
    }
    let subject_attribute = si
        .subject_attribute
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    if subject_attribute.as_ref().is_some_and(|a| a.len() > 256) {
        return Err(AdminError::invalid(
            "subject_attribute",
            "at most 256 characters",
        ));
    }
    let cfg = SamlConnectionConfig {
        idp_entity_id: entity.to_owned(),
        sso_url: sso.to_owned(),
        idp_certificates: certs,
        attributes: stored.map(|s| s.attributes.clone()).unwrap_or_default(),
        subject_attribute,
        trust_email: si.trust_email,
    };
    SamlSp::new(&state.settings.issuer, id, cfg.clone()).map_err(|e| match e {
        saml::SamlError::Config(m) if m.starts_with("idp_certificates") => {
            AdminError::invalid("idp_certificates", m)
        }
        e => AdminError::invalid("saml", e.to_string()),
    })?;
    serde_json::to_value(&cfg).map_err(|e| AdminError::Internal(e.to_string()))
}

/// A certificate must be an X.509 certificate, not just base64: a typo
/// or a pasted key is an error here, not a failed sign-in later.
fn check_certificate(pem_or_b64: &str) -> AdminResult<()> {
    use base64::Engine as _;
    let body: String = pem_or_b64
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .map_err(|_| AdminError::invalid("idp_certificates", "not a PEM or base64 certificate"))?;
    if pem_or_b64.contains("PRIVATE KEY") {
        return Err(AdminError::invalid(
            "idp_certificates",
            "this is a private key: give the identity provider's certificate",
        ));
    }
    x509_parser::parse_x509_certificate(&der).map_err(|_| {
        AdminError::invalid(
            "idp_certificates",
            "not an X.509 certificate (give the IdP's signing certificate, PEM)",
        )
    })?;
    Ok(())
}

async fn update_saml(
    state: &Authority,
    actor: &Actor,
    mut c: Connection,
    input: ConnectionInput,
) -> AdminResult<ConnectionView> {
    let stored: SamlConnectionConfig = serde_json::from_value(c.config.clone())
        .map_err(|e| AdminError::Internal(format!("stored SAML settings: {e}")))?;
    let si = input.saml.clone().unwrap_or_else(|| SamlInput {
        idp_entity_id: stored.idp_entity_id.clone(),
        sso_url: stored.sso_url.clone(),
        idp_certificates: Vec::new(),
        subject_attribute: stored.subject_attribute.clone(),
        trust_email: stored.trust_email,
    });
    // As with an OIDC issuer: people are linked by (connection, subject),
    // and a subject means someone only at its IdP and read the way it was.
    // Another IdP, or another attribute as the subject, is another
    // connection. (Certificates and the SSO URL may change: a rollover.)
    if si.idp_entity_id.trim() != stored.idp_entity_id {
        return Err(AdminError::invalid(
            "idp_entity_id",
            "a SAML connection's IdP cannot change (its people are linked to subjects at that IdP): add a new connection instead",
        ));
    }
    let attribute = si
        .subject_attribute
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if attribute != stored.subject_attribute.as_deref() {
        return Err(AdminError::invalid(
            "subject_attribute",
            "the subject attribute cannot change (its values would be matched against subjects read another way): add a new connection instead",
        ));
    }
    let certs_changed = !si.idp_certificates.is_empty();
    let sso_changed = si.sso_url.trim() != stored.sso_url;
    c.config = saml_config(state, &c.id, &si, Some(&stored))?;
    c.display_name = display_name(&input, None)?;
    c.trusted_email_domains = clean_domains(&input.trusted_email_domains)?;
    c.show_on_login = input.show_on_login;
    save(state, &c).await?;
    record(
        state,
        actor,
        "admin.connection.updated",
        json!({"connection": c.id, "certificates_changed": certs_changed,
               "sso_url_changed": sso_changed, "sso_url": si.sso_url.trim(),
               "trusted_email_domains": c.trusted_email_domains, "show_on_login": c.show_on_login}),
    );
    Ok(view(state, &c))
}

async fn save(state: &Authority, c: &Connection) -> AdminResult<()> {
    if !state.store.update_connection(c).await? {
        return Err(AdminError::NotFound(format!(
            "no connection with id {:?}",
            c.id
        )));
    }
    Ok(())
}

/// Enables or disables: a disabled connection signs nobody in.
pub async fn set_connection_disabled(
    state: &Authority,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> AdminResult<ConnectionView> {
    let mut c = get(state, id).await?;
    c.disabled = disabled;
    save(state, &c).await?;
    record(
        state,
        actor,
        if disabled {
            "admin.connection.disabled"
        } else {
            "admin.connection.enabled"
        },
        json!({"connection": c.id}),
    );
    Ok(view(state, &c))
}

/// Deletes the connection and every link through it (people keep their
/// accounts).
pub async fn delete_connection(state: &Authority, actor: &Actor, id: &str) -> AdminResult<()> {
    if !state.store.delete_connection(id).await? {
        return Err(AdminError::NotFound(format!(
            "no connection with id {id:?}"
        )));
    }
    record(
        state,
        actor,
        "admin.connection.deleted",
        json!({"connection": id}),
    );
    Ok(())
}
