//! `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9728 §5.1) and the error
//! responses carrying them.

use crate::claims::Claims;
use crate::error::ValidationError;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// What every challenge of one resource shares. The auth layer puts it in
/// the request extensions so later layers (`require_scopes`, the tool scope
/// layer) answer with the same challenge.
#[derive(Debug)]
pub struct ChallengeInfo {
    /// The `resource_metadata` URL, already quoted-string safe.
    resource_metadata: String,
    /// The baseline `scope` value, already quoted-string safe; may be empty.
    baseline_scope: String,
    /// `Bearer resource_metadata="…", scope="…"`, built once.
    missing: HeaderValue,
}

impl ChallengeInfo {
    pub(crate) fn new(resource_metadata: &str, baseline_scopes: &[String]) -> Self {
        let resource_metadata = quote_safe(resource_metadata);
        let baseline_scope = scope_value(baseline_scopes.iter().map(String::as_str));
        let mut s = format!("Bearer resource_metadata=\"{resource_metadata}\"");
        if !baseline_scope.is_empty() {
            s.push_str(&format!(", scope=\"{baseline_scope}\""));
        }
        Self {
            missing: header_value(s),
            resource_metadata,
            baseline_scope,
        }
    }

    /// The absolute URL of the protected resource metadata.
    pub fn resource_metadata(&self) -> &str {
        &self.resource_metadata
    }

    /// The challenge for a request that carried no token.
    pub fn missing_token(&self) -> HeaderValue {
        self.missing.clone()
    }

    /// The challenge for `err` (and, for insufficient scope, the claims of
    /// the token that lacked it).
    pub fn header_for(
        &self,
        err: &ValidationError,
        claims: Option<&Claims>,
    ) -> Option<HeaderValue> {
        let desc = err.description();
        let md = &self.resource_metadata;
        Some(match err {
            ValidationError::MissingToken => self.missing_token(),
            ValidationError::Unavailable => return None,
            ValidationError::InvalidToken(_) | ValidationError::InvalidRequest => {
                let code = err.error_code().unwrap_or("invalid_token");
                let mut s = format!("Bearer resource_metadata=\"{md}\"");
                if !self.baseline_scope.is_empty() {
                    s.push_str(&format!(", scope=\"{}\"", self.baseline_scope));
                }
                s.push_str(&format!(", error=\"{code}\", error_description=\"{desc}\""));
                header_value(s)
            }
            ValidationError::InsufficientScope { required } => {
                let scope = match claims {
                    Some(c) => {
                        let union = c.scope_union(required);
                        scope_value(union.split(' '))
                    }
                    None => scope_value(required.iter().map(String::as_str)),
                };
                header_value(format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\", \
                     resource_metadata=\"{md}\", error_description=\"{desc}\""
                ))
            }
        })
    }
}

/// RFC 6749 scope-token characters (NQCHAR): a token carrying anything
/// else is left out of a challenge rather than breaking the header.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

fn scope_value<'a>(scopes: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for s in scopes.filter(|s| is_scope_token(s)) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    }
    out
}

/// Escapes for a quoted-string and drops what a header cannot carry.
fn quote_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out
}

fn header_value(s: String) -> HeaderValue {
    // Built only from quote_safe / scope-token / fixed ASCII pieces.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The full HTTP response for a refused request.
pub fn error_response(
    err: &ValidationError,
    info: Option<&ChallengeInfo>,
    claims: Option<&Claims>,
) -> Response {
    let status =
        StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match err.error_code() {
        Some(code) => serde_json::json!({"error": code, "error_description": err.description()}),
        None if matches!(err, ValidationError::Unavailable) => serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": err.description()
        }),
        // RFC 6750 §3.1: no error code when no credentials were sent.
        None => serde_json::json!({"error_description": err.description()}),
    };
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let challenge = match info {
        Some(info) => info.header_for(err, claims),
        None => fallback_challenge(err, claims),
    };
    if let Some(v) = challenge {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    if matches!(err, ValidationError::Unavailable) {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    resp
}

/// A challenge without `resource_metadata` (when no auth layer ran).
fn fallback_challenge(err: &ValidationError, claims: Option<&Claims>) -> Option<HeaderValue> {
    match err {
        ValidationError::Unavailable => None,
        ValidationError::MissingToken => Some(HeaderValue::from_static("Bearer")),
        ValidationError::InsufficientScope { required } => {
            let scope = match claims {
                Some(c) => scope_value(c.scope_union(required).split(' ')),
                None => scope_value(required.iter().map(String::as_str)),
            };
            Some(header_value(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\", error_description=\"{}\"",
                err.description()
            )))
        }
        _ => Some(header_value(format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            err.error_code().unwrap_or("invalid_token"),
            err.description()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScopeImplications;

    #[test]
    fn insufficient_scope_challenge_is_one_quoted_challenge() {
        let info = ChallengeInfo::new(
            "https://h/.well-known/oauth-protected-resource/mcp",
            &["weather:read".into()],
        );
        let c = Claims::new(
            "i",
            "s",
            "c",
            "a",
            vec!["weather:read".into(), "bad\"scope".into()],
            0,
            1,
            &ScopeImplications::new(),
        );
        let err = ValidationError::InsufficientScope {
            required: vec!["weather:write".into()],
        };
        let v = info.header_for(&err, Some(&c)).unwrap();
        let v = v.to_str().unwrap();
        assert_eq!(
            v,
            "Bearer error=\"insufficient_scope\", scope=\"weather:read weather:write\", \
             resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\", \
             error_description=\"The access token does not grant the permission this request needs\""
        );
        assert_eq!(v.matches("scope=").count(), 1);
        assert_eq!(v.matches("Bearer").count(), 1);
    }

    #[test]
    fn missing_and_invalid() {
        let info = ChallengeInfo::new("https://h/x\"y", &[]);
        assert_eq!(
            info.missing_token().to_str().unwrap(),
            "Bearer resource_metadata=\"https://h/x\\\"y\""
        );
        let e = ValidationError::InvalidToken(crate::InvalidReason::Expired);
        let v = info.header_for(&e, None).unwrap();
        assert!(v.to_str().unwrap().contains("error=\"invalid_token\""));
        assert!(
            info.header_for(&ValidationError::Unavailable, None)
                .is_none()
        );
    }
}
