//! What an MCP server must publish for a resource registered here: the
//! RFC 9728 protected resource metadata and its `WWW-Authenticate` value.

use authgate_core::model::Resource;
use serde_json::{Value, json};

pub fn metadata(issuer: &str, r: &Resource) -> Value {
    let scopes: Vec<&str> = r.scopes.iter().map(|s| s.name.as_str()).collect();
    let mut v = json!({
        "resource": r.uri,
        "authorization_servers": [issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": r.name,
    });
    if let (Some(doc), Some(o)) = (&r.documentation_uri, v.as_object_mut()) {
        o.insert("resource_documentation".into(), json!(doc));
    }
    v
}

/// Where the MCP server serves the metadata (path-inserted, RFC 9728 §3.1).
pub fn metadata_url(r: &Resource) -> String {
    match url::Url::parse(&r.uri) {
        Ok(u) => {
            let path = u.path().trim_end_matches('/');
            let mut origin = u.origin().ascii_serialization();
            origin.push_str("/.well-known/oauth-protected-resource");
            origin.push_str(path);
            origin
        }
        Err(_) => String::new(),
    }
}

/// The challenge an MCP server sends with 401.
pub fn www_authenticate(r: &Resource) -> String {
    let mut v = format!("Bearer resource_metadata=\"{}\"", metadata_url(r));
    if !r.default_scopes.is_empty() {
        v.push_str(&format!(", scope=\"{}\"", r.default_scopes.join(" ")));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_inserted_url() {
        let r = Resource {
            id: "w".into(),
            name: "W".into(),
            uri: "https://mcp.example.com/mcp".into(),
            scopes: vec![],
            default_scopes: vec!["a".into()],
            access_token_ttl_secs: 1,
            refresh_token_idle_ttl_secs: 1,
            refresh_token_absolute_ttl_secs: 1,
            allow_dynamic_registration: true,
            allow_client_id_metadata_documents: true,
            allow_dynamic_client_credentials: false,
            documentation_uri: None,
            logo_uri: None,
            signup: Default::default(),
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(
            metadata_url(&r),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            www_authenticate(&r),
            "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"a\""
        );
        assert_eq!(
            metadata("https://as", &r)["authorization_servers"][0],
            "https://as"
        );
    }
}
