//! [`ProtectedResource`]: the validator plus what the resource tells
//! clients, shared by the auth layer and the metadata router (which add
//! `ProtectedResource::layer` and `ProtectedResource::metadata_router`).

use super::challenge::ChallengeInfo;
use crate::error::ConfigError;
use crate::validator::Validator;
use std::sync::Arc;

/// A protected resource: the [`Validator`] plus what the resource tells
/// clients (RFC 9728 metadata and the `WWW-Authenticate` challenges).
///
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProtectedResource {
    pub(crate) inner: Arc<ResourceInner>,
}

#[derive(Debug)]
pub(crate) struct ResourceInner {
    pub validator: Validator,
    pub challenge: Arc<ChallengeInfo>,
    /// The serialized metadata document.
    pub metadata_json: String,
    pub metadata_path: String,
    pub metadata_at_root: bool,
}

/// Configures a [`ProtectedResource`].
#[must_use]
pub struct ProtectedResourceBuilder {
    validator: Validator,
    scopes_supported: Vec<String>,
    baseline_scopes: Option<Vec<String>>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    metadata_at_root: bool,
}

impl ProtectedResource {
    /// Starts a configuration around `validator` (whose issuer and
    /// resource URL the metadata publishes).
    pub fn builder(validator: Validator) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            validator,
            scopes_supported: Vec::new(),
            baseline_scopes: None,
            resource_name: None,
            resource_documentation: None,
            metadata_at_root: true,
        }
    }

    /// The validator.
    pub fn validator(&self) -> &Validator {
        &self.inner.validator
    }

    /// The shared challenge parameters.
    pub fn challenge(&self) -> &Arc<ChallengeInfo> {
        &self.inner.challenge
    }

    /// The RFC 9728 metadata document, as served.
    pub fn metadata_json(&self) -> &str {
        &self.inner.metadata_json
    }

    /// The path the metadata is served at (path-inserted, RFC 9728 §3.1).
    pub fn metadata_path(&self) -> &str {
        &self.inner.metadata_path
    }
}

impl ProtectedResourceBuilder {
    /// `scopes_supported` in the metadata. `offline_access` is never listed
    /// (it is the authorization server's business, not the resource's).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes
            .into_iter()
            .map(Into::into)
            .filter(|s: &String| s != "offline_access" && !s.is_empty())
            .collect();
        self
    }

    /// The `scope` of a 401 challenge: what a client should ask for to use
    /// the resource at all (default: `scopes_supported`).
    pub fn baseline_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.baseline_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// `resource_name` in the metadata.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation` in the metadata; must be an absolute URL.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Also serve the metadata at `/.well-known/oauth-protected-resource`
    /// when the resource URL has a path (default true: right when one MCP
    /// server owns the origin; turn off when several share it).
    pub fn metadata_at_root(mut self, yes: bool) -> Self {
        self.metadata_at_root = yes;
        self
    }

    /// Checks the configuration and serializes the metadata once.
    pub fn build(self) -> Result<ProtectedResource, ConfigError> {
        if let Some(doc) = &self.resource_documentation
            && !crate::url::is_absolute_http_url(doc)
        {
            return Err(ConfigError::InvalidUrl("resource_documentation"));
        }
        let v = &self.validator;
        let mut doc = serde_json::Map::new();
        doc.insert("resource".into(), v.resource().into());
        doc.insert(
            "authorization_servers".into(),
            serde_json::json!([v.issuer()]),
        );
        if !self.scopes_supported.is_empty() {
            doc.insert(
                "scopes_supported".into(),
                serde_json::json!(self.scopes_supported),
            );
        }
        doc.insert(
            "bearer_methods_supported".into(),
            serde_json::json!(["header"]),
        );
        if let Some(name) = &self.resource_name {
            doc.insert("resource_name".into(), name.clone().into());
        }
        if let Some(d) = &self.resource_documentation {
            doc.insert("resource_documentation".into(), d.clone().into());
        }
        let baseline = self
            .baseline_scopes
            .unwrap_or_else(|| self.scopes_supported.clone());
        let challenge = Arc::new(ChallengeInfo::new(&v.resource_metadata_url(), &baseline));
        let metadata_path = v.resource_url().metadata_path();
        Ok(ProtectedResource {
            inner: Arc::new(ResourceInner {
                metadata_json: serde_json::Value::Object(doc).to_string(),
                metadata_path,
                metadata_at_root: self.metadata_at_root,
                challenge,
                validator: self.validator,
            }),
        })
    }
}

impl ResourceInner {
    /// Whether `path` is one of this resource's metadata paths (never
    /// authenticated). Exact match: no prefix can smuggle another path
    /// past the auth layer.
    pub(crate) fn is_metadata_path(&self, path: &str) -> bool {
        path == self.metadata_path || path == crate::METADATA_WELL_KNOWN
    }
}
