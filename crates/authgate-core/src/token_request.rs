//! Parsing of token endpoint requests (RFC 6749 §4, §6; RFC 8707).
//!
//! The grant is a tagged enum: an unknown `grant_type` fails here, at parse
//! time, with `unsupported_grant_type`. Parameters other than `resource`
//! must not repeat (RFC 6749 §3.2).

use crate::error::{ErrorCode, OAuthError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

impl Grant {
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::ClientCredentials { .. } => "client_credentials",
        }
    }
}

/// Client authentication material found in the request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyClientAuth {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant: Grant,
    /// RFC 8707 resource indicators, in order.
    pub resource: Vec<String>,
    pub client_auth: BodyClientAuth,
}

pub const GRANT_TYPES_SUPPORTED: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials"];

/// A view over form pairs that refuses repeated singletons.
pub struct Params<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Params<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs }
    }

    /// A parameter that may appear at most once; empty values count as absent
    /// (RFC 6749 §3.1).
    pub fn single(&self, name: &str) -> Result<Option<&'a str>, OAuthError> {
        let mut it = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = it.next();
        if it.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} must not be repeated"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn required(&self, name: &str) -> Result<&'a str, OAuthError> {
        self.single(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is required")))
    }

    /// Every value of a parameter that may repeat (`resource`).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

pub fn parse(pairs: &[(String, String)]) -> Result<TokenRequest, OAuthError> {
    let p = Params::new(pairs);
    let client_auth = BodyClientAuth {
        client_id: p.single("client_id")?.map(str::to_owned),
        client_secret: p.single("client_secret")?.map(str::to_owned),
        client_assertion_type: p.single("client_assertion_type")?.map(str::to_owned),
        client_assertion: p.single("client_assertion")?.map(str::to_owned),
    };
    let grant = match p.required("grant_type")? {
        "authorization_code" => Grant::AuthorizationCode {
            code: p.required("code")?.to_owned(),
            redirect_uri: p.single("redirect_uri")?.map(str::to_owned),
            code_verifier: p.single("code_verifier")?.map(str::to_owned),
        },
        "refresh_token" => Grant::RefreshToken {
            refresh_token: p.required("refresh_token")?.to_owned(),
            scope: p.single("scope")?.map(str::to_owned),
        },
        "client_credentials" => Grant::ClientCredentials {
            scope: p.single("scope")?.map(str::to_owned),
        },
        other => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {:?} is not supported",
                    other.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    Ok(TokenRequest {
        grant,
        resource: p.all("resource"),
        client_auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_each_grant() {
        let r = parse(&pairs(&[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("resource", "https://x"),
            ("resource", "https://y"),
        ]))
        .unwrap();
        assert_eq!(
            r.grant,
            Grant::ClientCredentials {
                scope: Some("a".into())
            }
        );
        assert_eq!(r.resource.len(), 2);
        let r = parse(&pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "t"),
        ]))
        .unwrap();
        assert_eq!(r.grant.grant_type(), "refresh_token");
    }

    #[test]
    fn errors() {
        let e = parse(&pairs(&[("grant_type", "password")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        let e = parse(&pairs(&[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = parse(&pairs(&[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ]))
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = parse(&pairs(&[("grant_type", "authorization_code")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }
}
