//! The de-duplication key of a dynamic registration: a hash of the
//! normalized metadata.

use authgate_core::model::ClientMetadata;
use authgate_core::redirect_uri::is_loopback_redirect;
use authgate_core::secret;
use serde_json::Value;

/// JSON with object keys sorted, for hashing.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&o[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The de-duplication key: a hash of the normalized metadata. Loopback
/// redirect URIs lose their port (any port matches them anyway, RFC 8252
/// §7.3), lists are sorted.
pub fn fingerprint(m: &ClientMetadata) -> String {
    let mut n = m.clone();
    n.redirect_uris = m
        .redirect_uris
        .iter()
        .map(|u| match url::Url::parse(u) {
            Ok(mut parsed) if is_loopback_redirect(u) => {
                let _ = parsed.set_port(None);
                parsed.to_string()
            }
            _ => u.clone(),
        })
        .collect();
    n.redirect_uris.sort();
    n.redirect_uris.dedup();
    n.grant_types.sort();
    n.response_types.sort();
    n.contacts.sort();
    let v = serde_json::to_value(&n).unwrap_or(Value::Null);
    format!("v1:{}", secret::hash(&canonical(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_metadata::{self, Origin, Rules};
    use serde_json::json;

    fn meta(v: Value) -> ClientMetadata {
        client_metadata::validate(
            v.as_object().unwrap(),
            Rules {
                origin: Origin::Registration,
                allow_loopback: false,
            },
        )
        .unwrap()
    }

    #[test]
    fn fingerprint_ignores_loopback_port_and_order() {
        let a = meta(
            json!({"redirect_uris": ["http://localhost:1111/cb", "https://a.example/x"],
            "client_name": "A", "token_endpoint_auth_method": "none"}),
        );
        let b = meta(
            json!({"redirect_uris": ["https://a.example/x", "http://localhost:2222/cb"],
            "client_name": "A", "token_endpoint_auth_method": "none"}),
        );
        let c = meta(
            json!({"redirect_uris": ["http://localhost:1111/cb", "https://a.example/x"],
            "client_name": "B", "token_endpoint_auth_method": "none"}),
        );
        let d = meta(
            json!({"redirect_uris": ["http://localhost:1111/cb", "https://a.example/x"],
            "client_name": "A", "token_endpoint_auth_method": "none", "software_id": "x"}),
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        assert_ne!(fingerprint(&a), fingerprint(&d));
    }

    #[test]
    fn canonical_sorts_keys() {
        assert_eq!(
            canonical(&json!({"b": 1, "a": [true, {"d": null, "c": "x"}]})),
            r#"{"a":[true,{"c":"x","d":null}],"b":1}"#
        );
    }
}
