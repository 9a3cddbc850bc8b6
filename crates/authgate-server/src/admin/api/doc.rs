//! The OpenAPI 3.1 document of the admin API (utoipa), served at
//! `{issuer-path}/admin/api/v1/openapi.json`. What depends on the running
//! server (its URL, the token endpoint) is filled in per request; errors
//! every operation can answer (400, 401, 403, 500) are added to each.

use super::{connections, handlers, orgs};
use crate::state::{AppState, SharedState};
use authgate_authority::builtin::{ADMIN_SCOPE, API_PREFIX};
use authgate_authority::manage::types::ErrorBody;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "authgate admin API",
        description = "Manage the MCP servers, clients, people, identity-provider connections, organizations, signing keys and audit log of an authgate authorization server. Authenticate with an access token from authgate itself: a client credentials client allowed the `authgate-admin` resource and the `authgate:admin` scope. A token a person delegated acts with that person's role: an `admin` may do everything, an `auditor` only the GET operations (any other answers 403 `access_denied`)."
    ),
    paths(
        handlers::list_resources,
        handlers::create_resource,
        handlers::get_resource,
        handlers::update_resource,
        handlers::delete_resource,
        handlers::resource_metadata,
        handlers::check_resource,
        handlers::list_clients,
        handlers::create_client,
        handlers::get_client,
        handlers::delete_client,
        handlers::rotate_client_secret,
        handlers::block_client,
        handlers::unblock_client,
        handlers::list_users,
        handlers::create_user,
        handlers::create_invitation,
        handlers::verify_user_email,
        handlers::get_user,
        handlers::update_user,
        handlers::delete_user,
        handlers::set_user_role,
        handlers::sign_out_user,
        handlers::reset_user_mfa,
        handlers::disable_user,
        handlers::enable_user,
        handlers::password_link,
        handlers::user_grants,
        handlers::revoke_user_grant,
        connections::list_connections,
        connections::create_connection,
        connections::get_connection,
        connections::update_connection,
        connections::delete_connection,
        connections::disable_connection,
        connections::enable_connection,
        orgs::list_orgs,
        orgs::create_org,
        orgs::get_org,
        orgs::update_org,
        orgs::delete_org,
        orgs::disable_org,
        orgs::enable_org,
        orgs::add_domain,
        orgs::remove_domain,
        orgs::verify_domain,
        orgs::mark_domain_verified,
        orgs::add_connection,
        orgs::remove_connection,
        orgs::list_scope_rules,
        orgs::set_scope_rule,
        handlers::list_keys,
        handlers::rotate_key,
        handlers::retire_key,
        handlers::audit,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "MCP servers", description = "Protected resources: what they publish, connection checks"),
        (name = "Clients", description = "Pre-registered, dynamically registered and metadata-document clients"),
        (name = "Users", description = "People who sign in, and what they allowed"),
        (name = "Connections", description = "Upstream identity providers people sign in through (OpenID Connect, GitHub); secrets are write-only"),
        (name = "Organizations", description = "Organizations, their verified email domains and connections; group -> scope rules of MCP servers"),
        (name = "Signing keys", description = "Token signing keys (JWKS)"),
        (name = "Audit log", description = "Security-relevant events"),
    )
)]
pub struct ApiDoc;

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// The complete document for this server.
pub fn document(state: &AppState) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
    let issuer = &state.settings.issuer;
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc["servers"] = json!([{ "url": format!("{issuer}{API_PREFIX}") }]);
    doc["components"]["securitySchemes"] = json!({
        "authgate": {
            "type": "oauth2",
            "description": "An access token from this authgate for the admin API resource.",
            "flows": {"clientCredentials": {
                "tokenUrl": format!("{issuer}/token"),
                "scopes": { ADMIN_SCOPE: "administer this authorization server" }
            }}
        }
    });
    doc["security"] = json!([{ "authgate": [ADMIN_SCOPE] }]);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (code, d) in [
                    ("400", "Invalid request; `field` names what to fix"),
                    (
                        "401",
                        "No token, or an invalid, expired or revoked one (WWW-Authenticate: Bearer)",
                    ),
                    (
                        "403",
                        "The token lacks the authgate:admin scope (insufficient_scope), or the person who delegated it may not do this (access_denied: an auditor writing)",
                    ),
                    ("500", "The server could not complete the request"),
                ] {
                    responses.entry(code).or_insert_with(|| error_response(d));
                }
            }
        }
    }
    doc
}

pub async fn openapi_json(State(state): State<SharedState>) -> Json<Value> {
    Json(document(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when a route is missing from the document, or the document
    /// describes a route the router does not have.
    #[test]
    fn document_matches_the_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for (method, path, _) in super::super::ROUTES {
            let op = &paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} missing from the OpenAPI document"))
                [method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
        let mut described = 0;
        for (path, item) in paths {
            for (method, _) in item.as_object().unwrap() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    described += 1;
                    assert!(
                        super::super::ROUTES
                            .iter()
                            .any(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path),
                        "{method} {path} is documented but not routed"
                    );
                }
            }
        }
        assert_eq!(described, super::super::ROUTES.len());
    }
}
