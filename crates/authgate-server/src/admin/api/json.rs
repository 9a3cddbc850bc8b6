//! JSON request bodies of the admin API: the content type checked, and
//! errors that name the field at fault.

use super::failure::Failure;
use authgate_authority::manage::AdminError;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

/// A JSON request body; errors name the field at fault.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(
                AdminError::invalid("body", "the request body must be application/json").into(),
            );
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AdminError::invalid("body", "the request body is too large")
                } else {
                    AdminError::invalid("body", "the request body could not be read")
                }
            })?;
        parse_json(&bytes).map(JsonBody).map_err(Into::into)
    }
}

/// Parses JSON into `T`, naming the field at fault on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.inner();
            let mut msg = inner.to_string();
            if let Some(i) = msg.find(" at line ") {
                msg.truncate(i);
            }
            // "missing field `uri`" / "unknown field `x`": name that field.
            let named = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"))
                .map(str::to_owned);
            let field = match (named, path.as_str()) {
                (Some(n), "." | "") => n,
                (Some(n), p) if msg.starts_with("missing field") => format!("{p}.{n}"),
                (Some(n), _) if msg.starts_with("unknown field") => n,
                (_, "." | "") => "body".to_string(),
                (_, p) => p.to_string(),
            };
            if inner.is_syntax() || inner.is_eof() {
                return Err(AdminError::invalid(
                    "body",
                    format!("not valid JSON: {msg}"),
                ));
            }
            Err(AdminError::invalid(&field, msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate_authority::manage::types::ResourceInput;

    fn field(json: &str) -> String {
        match parse_json::<ResourceInput>(json.as_bytes()) {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field(r#"{"name":"x"}"#), "uri");
        assert_eq!(field(r#"{"name":"x","uri":5}"#), "uri");
        assert_eq!(field(r#"{"name":"x","uri":"u","nope":1}"#), "nope");
        assert_eq!(
            field(r#"{"name":"x","uri":"u","scopes":[{"description":"d"}]}"#),
            "scopes[0].name"
        );
        assert_eq!(
            field(r#"{"name":"x","uri":"u","access_token_ttl_secs":"x"}"#),
            "access_token_ttl_secs"
        );
        assert_eq!(field("{"), "body");
        assert_eq!(field("[]"), "body");
    }
}
