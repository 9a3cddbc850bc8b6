//! RFC 8414 authorization server metadata and OIDC discovery. Both are
//! rendered once at start-up: `issuer` is byte for byte the configured one.

use crate::app::SharedState;
use crate::config::Settings;
use crate::http::error::ApiError;
use authgate_core::token_request::GRANT_TYPES_SUPPORTED;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

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
        o.insert(
            "id_token_signing_alg_values_supported".into(),
            json!([settings.signing_alg.as_str()]),
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

/// Every scope any registered MCP server defines, plus the OIDC ones.
async fn scopes_supported(state: &SharedState) -> Result<Vec<String>, ApiError> {
    let resources = state.registry.resources(state.store.as_ref()).await?;
    let mut out: Vec<String> = authgate_core::scope::OIDC_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    for r in resources.iter() {
        for d in &r.scopes {
            if !out.contains(&d.name) {
                out.push(d.name.clone());
            }
        }
    }
    Ok(out)
}

fn respond(body: Value) -> impl IntoResponse {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        axum::Json(body),
    )
}

pub async fn authorization_server(
    State(state): State<SharedState>,
) -> Result<impl IntoResponse, ApiError> {
    let scopes = scopes_supported(&state).await?;
    Ok(respond(as_metadata(&state.settings, &scopes)))
}

pub async fn openid_configuration(
    State(state): State<SharedState>,
) -> Result<impl IntoResponse, ApiError> {
    let scopes = scopes_supported(&state).await?;
    Ok(respond(oidc_metadata(&state.settings, &scopes)))
}
