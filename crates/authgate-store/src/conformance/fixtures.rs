//! The records the areas store: every field set to a plausible value, so
//! a round trip checks them all. Shared by several areas (a grant needs a
//! client, reaping needs grants and tokens).

use super::support::{strings, unique};
use authgate_core::model::*;
use authgate_core::scope::ScopeDef;
use serde_json::json;

pub(crate) fn resource(id: &str, created_at: i64) -> Resource {
    Resource {
        id: id.to_owned(),
        name: format!("Resource {id}"),
        uri: format!("https://mcp.example.com/{id}"),
        scopes: vec![
            ScopeDef {
                name: "weather:read".into(),
                description: "Read the forecast".into(),
                implies: vec![],
            },
            ScopeDef {
                name: "weather:write".into(),
                description: String::new(),
                implies: strings(&["weather:read"]),
            },
        ],
        default_scopes: strings(&["weather:read"]),
        access_token_ttl_secs: 900,
        refresh_token_idle_ttl_secs: 86_400,
        refresh_token_absolute_ttl_secs: 30 * 86_400,
        allow_dynamic_registration: true,
        allow_client_id_metadata_documents: false,
        allow_dynamic_client_credentials: false,
        documentation_uri: Some("https://docs.example.com/weather".into()),
        logo_uri: Some("https://docs.example.com/weather.png".into()),
        signup: SignupPolicy::Closed,
        created_at,
        updated_at: created_at + 1,
    }
}

/// A client with every optional field set.
pub(crate) fn full_client(id: &str, kind: ClientKind, created_at: i64) -> Client {
    Client {
        client_id: id.to_owned(),
        kind,
        metadata: ClientMetadata {
            redirect_uris: strings(&["https://app.example.com/cb", "http://127.0.0.1/cb"]),
            client_name: Some("Example \"App\" ✓".into()),
            client_uri: Some("https://app.example.com".into()),
            logo_uri: Some("https://app.example.com/logo.png".into()),
            scope: Some("weather:read weather:write".into()),
            grant_types: strings(&["authorization_code", "refresh_token"]),
            response_types: strings(&["code"]),
            token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
            application_type: Some("web".into()),
            software_id: Some("sw-1".into()),
            software_version: Some("1.2.3".into()),
            contacts: strings(&["ops@example.com"]),
            jwks: Some(json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "abc", "y": "def"}]})),
            jwks_uri: Some("https://app.example.com/jwks".into()),
            tos_uri: Some("https://app.example.com/tos".into()),
            policy_uri: Some("https://app.example.com/policy".into()),
            // Persisted in the metadata JSON: no column, no migration.
            id_token_signed_response_alg: Some(SigningAlg::EdDSA),
        },
        secret_hash: Some("c2VjcmV0LWhhc2g".into()),
        registration_access_token_hash: Some("cmF0LWhhc2g".into()),
        resources: strings(&["weather", "calendar"]),
        allowed_scopes: Some(strings(&["weather:read"])),
        blocked: true,
        registration_fingerprint: Some(unique("fp")),
        registration_count: 3,
        created_at,
        last_used_at: Some(created_at + 5),
    }
}

/// A client with every optional field unset.
pub(crate) fn bare_client(id: &str, kind: ClientKind, created_at: i64) -> Client {
    Client {
        client_id: id.to_owned(),
        kind,
        metadata: ClientMetadata::default(),
        secret_hash: None,
        registration_access_token_hash: None,
        resources: vec![],
        allowed_scopes: None,
        blocked: false,
        registration_fingerprint: None,
        registration_count: 0,
        created_at,
        last_used_at: None,
    }
}

pub(crate) fn user(id: &str, email: &str, created_at: i64) -> User {
    User {
        id: id.to_owned(),
        email: email.to_owned(),
        name: Some("Ada Lovelace".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        role: Role::Admin,
        created_at,
        email_verified: false,
        signed_up: false,
    }
}

pub(crate) fn grant(
    id: &str,
    client_id: &str,
    user_id: Option<&str>,
    resource_id: &str,
    created_at: i64,
) -> Grant {
    Grant {
        id: id.to_owned(),
        client_id: client_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        resource_id: resource_id.to_owned(),
        scopes: strings(&["weather:read", "offline_access"]),
        auth_time: created_at - 3,
        created_at,
        last_used_at: created_at,
        expires_at: created_at + 90 * 86_400,
        revoked_at: None,
        auth: AuthContext::default(),
    }
}

pub(crate) fn refresh(hash: &str, g: &Grant, issued_at: i64) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_owned(),
        grant_id: g.id.clone(),
        client_id: g.client_id.clone(),
        scopes: g.scopes.clone(),
        issued_at,
        expires_at: issued_at + 14 * 86_400,
        rotated_at: None,
        successor_hash: None,
        revoked_at: None,
    }
}
