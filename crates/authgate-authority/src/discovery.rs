//! The discovery documents (RFC 8414 authorization server metadata, OIDC
//! discovery), rendered once per resource list.

use crate::config::Settings;
use crate::registry::ResourceList;
use authgate_core::model::{Resource, SigningAlg};
use authgate_core::signing::ID_TOKEN_ALGS;
use authgate_core::token_request::GRANT_TYPES_SUPPORTED;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub fn as_metadata(settings: &Settings, scopes_supported: &[String]) -> Value {
    let i = &settings.issuer;
    let mut v = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks.json"),
        "registration_endpoint": format!("{i}/register"),
        "revocation_endpoint": format!("{i}/revoke"),
        "introspection_endpoint": format!("{i}/introspect"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "scopes_supported": scopes_supported,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES_SUPPORTED,
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": crate::cimd::jwks::ALGORITHMS,
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": crate::cimd::jwks::ALGORITHMS,
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": crate::cimd::jwks::ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": settings.raw.cimd.enabled,
        "authorization_response_iss_parameter_supported": true,
        "resource_indicators_supported": true,
    });
    if !settings.raw.dynamic_registration.enabled
        && let Some(o) = v.as_object_mut()
    {
        o.remove("registration_endpoint");
    }
    v
}

pub fn oidc_metadata(settings: &Settings, scopes_supported: &[String]) -> Value {
    let mut v = as_metadata(settings, scopes_supported);
    if let Some(o) = v.as_object_mut() {
        o.insert("subject_types_supported".into(), json!(["public"]));
        // Every algorithm a client may register as
        // `id_token_signed_response_alg`, RS256 (the OIDC default, which
        // OIDC Discovery requires here) first.
        o.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(ID_TOKEN_ALGS.map(SigningAlg::as_str)),
        );
        o.insert(
            "claims_supported".into(),
            json!([
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "email",
                "email_verified",
                "name"
            ]),
        );
    }
    v
}

/// Every scope any registered MCP server defines, plus the OIDC ones. The
/// built-in admin API's scope is left out: only clients an administrator
/// set up can use it, and they know it; advertising it only invites probes.
fn scopes_supported(resources: &[Arc<Resource>]) -> Vec<String> {
    let mut out: Vec<String> = authgate_core::scope::OIDC_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    for r in resources
        .iter()
        .filter(|r| !crate::builtin::is_builtin(&r.id))
    {
        for d in &r.scopes {
            if !out.contains(&d.name) {
                out.push(d.name.clone());
            }
        }
    }
    out
}

/// The rendered documents, each kept with the resource list it was rendered
/// from. The registry hands out a new list when it reloads (every couple of
/// seconds under traffic, at once after an admin change), and only then is
/// a document rendered again: every MCP client fetches this metadata when it
/// connects, and a burst of them should cost a copy each, not a JSON build.
#[derive(Default)]
pub struct DiscoveryCache {
    oauth: Mutex<Option<(ResourceList, Bytes)>>,
    openid: Mutex<Option<(ResourceList, Bytes)>>,
}

/// The document in `slot` if it was rendered from `resources`, else a fresh
/// rendering (kept for the next request).
fn rendered(
    slot: &Mutex<Option<(ResourceList, Bytes)>>,
    resources: &ResourceList,
    render: impl FnOnce() -> Value,
) -> Bytes {
    if let Ok(g) = slot.lock()
        && let Some((from, body)) = g.as_ref()
        && Arc::ptr_eq(from, resources)
    {
        return body.clone();
    }
    // A Value always serializes.
    let body = Bytes::from(serde_json::to_vec(&render()).unwrap_or_default());
    if let Ok(mut g) = slot.lock() {
        *g = Some((resources.clone(), body.clone()));
    }
    body
}

impl DiscoveryCache {
    /// The RFC 8414 authorization server metadata.
    pub fn authorization_server(&self, settings: &Settings, resources: &ResourceList) -> Bytes {
        rendered(&self.oauth, resources, || {
            as_metadata(settings, &scopes_supported(resources))
        })
    }

    /// The OpenID Connect discovery document.
    pub fn openid_configuration(&self, settings: &Settings, resources: &ResourceList) -> Bytes {
        rendered(&self.openid, resources, || {
            oidc_metadata(settings, &scopes_supported(resources))
        })
    }
}
