//! One path from what a caller wants to a stored client. Every way a client
//! is made — the admin API, dashboard and CLI, the config file, dynamic
//! registration (RFC 7591/7592), client ID metadata documents — fills a
//! [`ClientDraft`] and turns it into a [`Client`] with
//! [`ClientDraft::into_client`], which checks the rules every client obeys
//! (the typed rules of [`crate::client_metadata`]) and those of its origin.
//!
//! What differs between origins is data ([`OriginRules`]), not code paths:
//! whether the client id is a document URL, which auth methods it may use,
//! whether an administrator's grants (resources, scope ceiling) apply,
//! whether it is managed with a registration access token.
//!
//! Nothing here knows about HTTP or the store: checks that need the store
//! (does a listed MCP server exist?) stay with the caller.

use crate::client_metadata::{self, FieldError, uses_shared_secret};
use authgate_core::clock::UnixTime;
use authgate_core::model::{
    ANY_RESOURCE, Client, ClientKind, ClientMetadata, TokenEndpointAuthMethod,
};
use authgate_core::scope;

/// The rules of one origin of clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginRules {
    pub kind: ClientKind,
    /// How error messages name such a client.
    pub label: &'static str,
    /// Its client id is the URL of its metadata document. Other clients'
    /// ids must not look like URLs: they would shadow a document.
    pub url_client_id: bool,
    /// It may authenticate with a client secret (`client_secret_*`).
    pub shared_secret: bool,
    /// It may authenticate with `private_key_jwt` (keys in its metadata).
    pub private_key_jwt: bool,
    /// An administrator's list of MCP servers and scope ceiling apply to
    /// it. Other clients have neither: the servers' switches decide.
    pub administrator_grants: bool,
    /// It is managed with an RFC 7592 registration access token.
    pub registration_token: bool,
}

/// Registered by an administrator: API, dashboard, CLI or config file.
/// `private_key_jwt` clients bring their keys through registration or a
/// document instead.
pub const PRE_REGISTERED: OriginRules = OriginRules {
    kind: ClientKind::PreRegistered,
    label: "a pre-registered client",
    url_client_id: false,
    shared_secret: true,
    private_key_jwt: false,
    administrator_grants: true,
    registration_token: false,
};

/// Registered through RFC 7591.
pub const DYNAMIC: OriginRules = OriginRules {
    kind: ClientKind::Dynamic,
    label: "a dynamically registered client",
    url_client_id: false,
    shared_secret: true,
    private_key_jwt: true,
    administrator_grants: false,
    registration_token: true,
};

/// Described by a client ID metadata document: public, nowhere to keep a
/// shared secret.
pub const METADATA_DOCUMENT: OriginRules = OriginRules {
    kind: ClientKind::MetadataDocument,
    label: "a metadata document client",
    url_client_id: true,
    shared_secret: false,
    private_key_jwt: true,
    administrator_grants: false,
    registration_token: false,
};

impl OriginRules {
    pub fn of(kind: ClientKind) -> Self {
        match kind {
            ClientKind::PreRegistered => PRE_REGISTERED,
            ClientKind::Dynamic => DYNAMIC,
            ClientKind::MetadataDocument => METADATA_DOCUMENT,
        }
    }
}

/// What a caller wants stored as a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientDraft {
    pub rules: OriginRules,
    pub client_id: String,
    pub metadata: ClientMetadata,
    /// Hash of the client secret (`client_secret_*` methods only).
    pub secret_hash: Option<String>,
    pub registration_access_token_hash: Option<String>,
    pub registration_fingerprint: Option<String>,
    /// Pre-registered clients only (see [`Client::resources`]).
    pub resources: Vec<String>,
    /// Pre-registered clients only (see [`Client::allowed_scopes`]).
    pub allowed_scopes: Option<Vec<String>>,
}

impl ClientDraft {
    /// A draft with no secret, token or administrator grants.
    pub fn new(rules: OriginRules, client_id: impl Into<String>, metadata: ClientMetadata) -> Self {
        Self {
            rules,
            client_id: client_id.into(),
            metadata,
            secret_hash: None,
            registration_access_token_hash: None,
            registration_fingerprint: None,
            resources: vec![],
            allowed_scopes: None,
        }
    }

    /// The draft of a stored client, to change and store again.
    pub fn of(c: &Client) -> Self {
        Self {
            rules: OriginRules::of(c.kind),
            client_id: c.client_id.clone(),
            metadata: c.metadata.clone(),
            secret_hash: c.secret_hash.clone(),
            registration_access_token_hash: c.registration_access_token_hash.clone(),
            registration_fingerprint: c.registration_fingerprint.clone(),
            resources: c.resources.clone(),
            allowed_scopes: c.allowed_scopes.clone(),
        }
    }

    /// Checks every rule; the draft's secret hash says whether it holds a
    /// secret.
    pub fn check(&self) -> Result<(), FieldError> {
        self.check_holding_secret(self.secret_hash.is_some())
    }

    /// The client this draft describes, keeping what the store knows of
    /// `existing` (blocked, registration count, created and last used).
    pub fn into_client(
        self,
        now: UnixTime,
        existing: Option<&Client>,
    ) -> Result<Client, FieldError> {
        self.check()?;
        Ok(Client {
            client_id: self.client_id,
            kind: self.rules.kind,
            metadata: self.metadata,
            secret_hash: self.secret_hash,
            registration_access_token_hash: self.registration_access_token_hash,
            resources: self.resources,
            allowed_scopes: self.allowed_scopes,
            blocked: existing.is_some_and(|e| e.blocked),
            registration_fingerprint: self.registration_fingerprint,
            registration_count: existing.map_or(1, |e| e.registration_count),
            created_at: existing.map_or(now, |e| e.created_at),
            last_used_at: existing.and_then(|e| e.last_used_at),
        })
    }

    fn check_holding_secret(&self, holds_secret: bool) -> Result<(), FieldError> {
        check_client_id(&self.rules, &self.client_id)?;
        if let Some(name) = &self.metadata.client_name {
            client_metadata::check_text("client_name", name)?;
        }
        self.check_credentials(holds_secret)?;
        let m = &self.metadata;
        client_metadata::check_redirect_uris(&m.redirect_uris)?;
        client_metadata::check_grant_types(&m.grant_types)?;
        client_metadata::check_flows(m)?;
        client_metadata::check_auth_method(m)?;
        self.check_administrator_grants()
    }

    /// The auth method is one the origin allows, a secret is held exactly
    /// when the method uses one, a registration token exactly when the
    /// origin is managed with one.
    fn check_credentials(&self, holds_secret: bool) -> Result<(), FieldError> {
        let rules = &self.rules;
        let method = self.metadata.token_endpoint_auth_method;
        let shared = uses_shared_secret(method);
        if shared && !rules.shared_secret {
            return Err(FieldError::new(
                "token_endpoint_auth_method",
                format!("{} cannot use a shared secret", rules.label),
            ));
        }
        if method == TokenEndpointAuthMethod::PrivateKeyJwt && !rules.private_key_jwt {
            return Err(FieldError::new(
                "token_endpoint_auth_method",
                format!(
                    "{} cannot use private_key_jwt; such clients bring their keys through \
                     dynamic registration or a metadata document",
                    rules.label
                ),
            ));
        }
        match (shared, holds_secret) {
            (true, false) => Err(FieldError::new(
                "client_secret",
                "required for client_secret_* auth methods",
            )),
            (false, true) => Err(FieldError::new(
                "client_secret",
                format!(
                    "a client with auth method {} has no secret",
                    method.as_str()
                ),
            )),
            _ if self.registration_access_token_hash.is_some() != rules.registration_token => {
                Err(FieldError::new(
                    "registration_access_token",
                    format!(
                        "{} {} a registration access token",
                        rules.label,
                        if rules.registration_token {
                            "needs"
                        } else {
                            "has no"
                        }
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Listed MCP servers are ids (or `*`), the scope ceiling valid scope
    /// names; only pre-registered clients have either.
    fn check_administrator_grants(&self) -> Result<(), FieldError> {
        if !self.rules.administrator_grants {
            if !self.resources.is_empty() {
                return Err(FieldError::new(
                    "resources",
                    format!("{} lists no MCP servers", self.rules.label),
                ));
            }
            if self.allowed_scopes.is_some() {
                return Err(FieldError::new(
                    "scopes",
                    format!("{} has no administrator's scope list", self.rules.label),
                ));
            }
            return Ok(());
        }
        if let Some(r) = self
            .resources
            .iter()
            .find(|r| *r != ANY_RESOURCE && !crate::resource_ids::valid_id(r))
        {
            return Err(FieldError::new(
                "resources",
                format!(
                    "{r:?} is not a resource id (or \"*\" for every MCP server but the admin API)"
                ),
            ));
        }
        if let Some(x) = self
            .allowed_scopes
            .iter()
            .flatten()
            .find(|x| !scope::is_scope_token(x))
        {
            return Err(FieldError::new(
                "scopes",
                format!("{x:?} is not a valid scope"),
            ));
        }
        Ok(())
    }
}

fn check_client_id(rules: &OriginRules, id: &str) -> Result<(), FieldError> {
    let looks_like_url = id.starts_with("https://") || id.starts_with("http://");
    if rules.url_client_id {
        if !looks_like_url || url::Url::parse(id).is_err() {
            return Err(FieldError::new(
                "client_id",
                "must be the URL of the client's metadata document",
            ));
        }
        return Ok(());
    }
    if id.is_empty() || id.len() > 200 || id.chars().any(|ch| ch.is_control() || ch == ' ') {
        return Err(FieldError::new(
            "client_id",
            "must be 1-200 printable characters without spaces",
        ));
    }
    if looks_like_url {
        return Err(FieldError::new(
            "client_id",
            "URL client ids are reserved for client ID metadata documents",
        ));
    }
    Ok(())
}

/// What an administrator (admin API, dashboard, CLI) or the config file
/// declares for a pre-registered client. The rest follows from it: the
/// auth method from whether it has a secret, the grant types from whether
/// it has redirect URIs, the response type from the grant types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreRegistered {
    pub client_id: String,
    pub client_name: Option<String>,
    /// As written; absent: `client_secret_basic` with a secret, else `none`.
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Empty: `client_credentials` without redirect URIs, otherwise
    /// `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    pub resources: Vec<String>,
    pub scopes: Option<Vec<String>>,
}

impl PreRegistered {
    /// The draft of this client holding the secret whose hash is given.
    pub fn draft(self, secret_hash: Option<String>) -> Result<ClientDraft, FieldError> {
        let metadata = self.metadata(secret_hash.is_some())?;
        Ok(ClientDraft {
            secret_hash,
            resources: self.resources,
            allowed_scopes: self.scopes,
            ..ClientDraft::new(PRE_REGISTERED, self.client_id, metadata)
        })
    }

    /// Checks a declaration whose secret is read only when it is applied
    /// (a config file's `client_secret_file`): `holds_secret` says whether
    /// it will have one.
    pub fn check_declared(&self, holds_secret: bool) -> Result<(), FieldError> {
        let metadata = self.metadata(holds_secret)?;
        let draft = ClientDraft {
            resources: self.resources.clone(),
            allowed_scopes: self.scopes.clone(),
            ..ClientDraft::new(PRE_REGISTERED, self.client_id.clone(), metadata)
        };
        draft.check_holding_secret(holds_secret)
    }

    fn metadata(&self, holds_secret: bool) -> Result<ClientMetadata, FieldError> {
        let method = match &self.token_endpoint_auth_method {
            None if holds_secret => TokenEndpointAuthMethod::ClientSecretBasic,
            None => TokenEndpointAuthMethod::None,
            Some(m) => TokenEndpointAuthMethod::parse(m).ok_or_else(|| {
                FieldError::new(
                    "token_endpoint_auth_method",
                    format!(
                        "{m:?} is not one of none, client_secret_basic, client_secret_post, \
                         private_key_jwt"
                    ),
                )
            })?,
        };
        let grant_types = match (self.grant_types.is_empty(), self.redirect_uris.is_empty()) {
            (false, _) => self.grant_types.clone(),
            (true, true) => vec!["client_credentials".to_string()],
            (true, false) => vec!["authorization_code".into(), "refresh_token".into()],
        };
        let response_types = if grant_types.iter().any(|g| g == "authorization_code") {
            vec!["code".to_string()]
        } else {
            vec![]
        };
        Ok(ClientMetadata {
            redirect_uris: self.redirect_uris.clone(),
            client_name: self.client_name.clone(),
            grant_types,
            response_types,
            token_endpoint_auth_method: method,
            ..ClientMetadata::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(f: impl FnOnce(&mut PreRegistered)) -> PreRegistered {
        let mut p = PreRegistered {
            client_id: "svc".into(),
            ..Default::default()
        };
        f(&mut p);
        p
    }

    fn field(r: Result<Client, FieldError>) -> &'static str {
        r.unwrap_err().field
    }

    #[test]
    fn pre_registered_defaults() {
        let c = admin(|_| {})
            .draft(Some("h".into()))
            .unwrap()
            .into_client(5, None)
            .unwrap();
        assert_eq!(c.kind, ClientKind::PreRegistered);
        assert_eq!(c.metadata.grant_types, ["client_credentials"]);
        assert!(c.metadata.response_types.is_empty());
        assert_eq!(
            c.metadata.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!((c.created_at, c.registration_count), (5, 1));
        let c = admin(|p| p.redirect_uris = vec!["http://127.0.0.1/cb".into()])
            .draft(None)
            .unwrap()
            .into_client(5, None)
            .unwrap();
        assert_eq!(
            c.metadata.grant_types,
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(c.metadata.response_types, ["code"]);
        assert_eq!(
            c.metadata.token_endpoint_auth_method,
            TokenEndpointAuthMethod::None
        );
    }

    /// Behaviour change: a config-file client with redirect URIs but no
    /// authorization_code grant had the `code` response type stored; the
    /// response type now follows the grant types, as for the admin API.
    #[test]
    fn response_type_follows_the_grant_types() {
        let c = admin(|p| {
            p.redirect_uris = vec!["https://a.example/cb".into()];
            p.grant_types = vec!["client_credentials".into()];
        })
        .draft(Some("h".into()))
        .unwrap()
        .into_client(0, None)
        .unwrap();
        assert!(c.metadata.response_types.is_empty());
    }

    #[test]
    fn existing_rows_keep_what_the_store_knows() {
        let old = admin(|_| {})
            .draft(Some("h".into()))
            .unwrap()
            .into_client(5, None)
            .unwrap();
        let old = Client {
            blocked: true,
            last_used_at: Some(7),
            registration_count: 3,
            ..old
        };
        let c = ClientDraft::of(&old).into_client(9, Some(&old)).unwrap();
        assert_eq!(c, old);
    }

    /// Behaviour change (one rule for every path): a public client cannot
    /// have client_credentials, whether from the config file, the CLI or
    /// the admin API.
    #[test]
    fn client_credentials_needs_a_secret_on_every_path() {
        let p = admin(|p| p.grant_types = vec!["client_credentials".into()]);
        assert_eq!(p.check_declared(false).unwrap_err().field, "grant_types");
        assert_eq!(
            field(p.clone().draft(None).unwrap().into_client(0, None)),
            "grant_types"
        );
        assert!(p.check_declared(true).is_ok());
    }

    /// Behaviour change: the authorization_code grant needs a redirect URI
    /// on every path (the config file accepted a client without one).
    #[test]
    fn authorization_code_needs_a_redirect_uri_on_every_path() {
        let p = admin(|p| p.grant_types = vec!["authorization_code".into()]);
        let e = p.check_declared(true).unwrap_err();
        assert_eq!(e.field, "redirect_uris");
    }

    /// Behaviour change: an administrator's scope list holds valid scope
    /// names on every path (the config file took any string).
    #[test]
    fn scope_lists_are_scope_names_on_every_path() {
        let p = admin(|p| p.scopes = Some(vec!["bad\"scope".into()]));
        assert_eq!(p.check_declared(true).unwrap_err().field, "scopes");
    }

    /// Behaviour change: a client name is at most 200 characters without
    /// control characters on every path (the config file took any).
    #[test]
    fn client_names_are_short_text_on_every_path() {
        for name in ["x".repeat(201), "a\u{7}b".to_string()] {
            let p = admin(|p| p.client_name = Some(name));
            assert_eq!(p.check_declared(true).unwrap_err().field, "client_name");
        }
    }

    /// Behaviour change: pre-registered redirect URIs are bounded like
    /// registered ones (at most 20, each at most 2000 characters).
    #[test]
    fn redirect_uri_limits_on_every_path() {
        let many = (0..21).map(|i| format!("http://127.0.0.1/cb{i}")).collect();
        let p = admin(|p| p.redirect_uris = many);
        assert_eq!(p.check_declared(false).unwrap_err().field, "redirect_uris");
        let long = format!("https://a.example/{}", "x".repeat(2000));
        let p = admin(|p| p.redirect_uris = vec![long]);
        assert_eq!(p.check_declared(false).unwrap_err().field, "redirect_uris");
    }

    #[test]
    fn origins_differ_as_data() {
        let m = ClientMetadata {
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            ..Default::default()
        };
        let mut d = ClientDraft::new(METADATA_DOCUMENT, "https://a.example/c.json", m.clone());
        d.secret_hash = Some("h".into());
        assert_eq!(d.check().unwrap_err().field, "token_endpoint_auth_method");
        // A dynamic client needs its registration token; others have none.
        let mut d = ClientDraft::new(DYNAMIC, "abc", m);
        d.secret_hash = Some("h".into());
        assert_eq!(d.check().unwrap_err().field, "registration_access_token");
        d.registration_access_token_hash = Some("t".into());
        assert!(d.check().is_ok());
        d.resources = vec!["weather".into()];
        assert_eq!(d.check().unwrap_err().field, "resources");
        // Only document clients have URL ids, and they must.
        let d = ClientDraft::new(METADATA_DOCUMENT, "abc", ClientMetadata::default());
        assert_eq!(d.check().unwrap_err().field, "client_id");
        let d = ClientDraft::new(
            PRE_REGISTERED,
            "https://a.example/c",
            ClientMetadata::default(),
        );
        assert_eq!(d.check().unwrap_err().field, "client_id");
    }
}
