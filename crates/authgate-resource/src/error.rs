//! Validation errors and their HTTP meaning (RFC 6750 §3.1).
//!
//! Every message here is a fixed string: no token contents, no claim values,
//! no key material ever reach a log line or a response.

/// Why a presented access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidReason {
    /// Not three base64url segments, bad base64, or unparsable JSON.
    Malformed,
    /// Token or header larger than the configured caps.
    TooLarge,
    /// The JOSE header is missing a field, has an unexpected one (`crit`),
    /// or the wrong type.
    Header,
    /// `typ` is not `at+jwt` (RFC 9068 §4).
    Type,
    /// `alg` is not one of ES256, RS256, EdDSA, or does not match the key.
    Algorithm,
    /// No published key has the token's `kid`.
    UnknownKey,
    /// The signature does not verify.
    Signature,
    /// `iss` is not the configured issuer.
    Issuer,
    /// `aud` does not name this resource.
    Audience,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// A required claim is missing or has the wrong type.
    Claims,
    /// The introspection endpoint said the token is not active.
    Inactive,
    /// The introspection endpoint said the token is active but not an
    /// access token (e.g. `token_type` `refresh_token`).
    NotAccessToken,
}

impl InvalidReason {
    /// A short English description, safe to send as `error_description`.
    /// It never contains the text `scope=` nor a double quote.
    pub fn description(self) -> &'static str {
        match self {
            Self::Malformed => "The access token is malformed",
            Self::TooLarge => "The access token is too large",
            Self::Header => "The access token header is invalid",
            Self::Type => "The token is not an access token (typ must be at+jwt)",
            Self::Algorithm => "The access token signing algorithm is not accepted",
            Self::UnknownKey => "The access token was signed with an unknown key",
            Self::Signature => "The access token signature is invalid",
            Self::Issuer => "The access token was issued by another authorization server",
            Self::Audience => "The access token was issued for another resource",
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not valid yet",
            Self::IssuedInFuture => "The access token was issued in the future",
            Self::Claims => "The access token claims are invalid",
            Self::Inactive => "The access token is not active",
            Self::NotAccessToken => "The token is not an access token",
        }
    }
}

impl std::fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

/// The result of a refused request.
///
/// | variant | HTTP | challenge |
/// |---|---|---|
/// | [`MissingToken`](Self::MissingToken) | 401 | `Bearer resource_metadata=…, scope=…` (no `error`) |
/// | [`InvalidRequest`](Self::InvalidRequest) | 400 | `error="invalid_request"` |
/// | [`InvalidToken`](Self::InvalidToken) | 401 | `error="invalid_token"` |
/// | [`InsufficientScope`](Self::InsufficientScope) | 403 | `error="insufficient_scope"` |
/// | [`Unavailable`](Self::Unavailable) | 503 | none |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// No `Authorization` header, or an authentication scheme other than
    /// Bearer (RFC 6750 §3.1: a request lacking authentication information
    /// gets no error code).
    #[error("no bearer access token was presented")]
    MissingToken,
    /// The `Authorization` header is malformed (e.g. several headers, an
    /// empty token, characters outside `b64token`).
    #[error("the Authorization header is malformed")]
    InvalidRequest,
    /// A token was presented and refused.
    #[error("{0}")]
    InvalidToken(InvalidReason),
    /// The token is valid but lacks a scope the request needs.
    #[error("the access token lacks a required scope")]
    InsufficientScope {
        /// The scopes the request needed.
        required: Vec<String>,
    },
    /// The token could not be checked: no key was ever fetched from the
    /// authorization server, or its introspection endpoint failed.
    #[error("the authorization server could not be reached to validate the token")]
    Unavailable,
}

impl ValidationError {
    /// The HTTP status this error maps to.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => 401,
            Self::InvalidRequest => 400,
            Self::InsufficientScope { .. } => 403,
            Self::Unavailable => 503,
        }
    }

    /// The RFC 6750 `error` attribute, when there is one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::Unavailable => None,
            Self::InvalidRequest => Some("invalid_request"),
            Self::InvalidToken(_) => Some("invalid_token"),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// A fixed, safe `error_description` (never contains `scope=`).
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingToken => "No access token was presented",
            Self::InvalidRequest => "The Authorization header is malformed",
            Self::InvalidToken(r) => r.description(),
            Self::InsufficientScope { .. } => {
                "The access token does not grant the permission this request needs"
            }
            Self::Unavailable => "The authorization server is unavailable",
        }
    }
}

impl From<InvalidReason> for ValidationError {
    fn from(r: InvalidReason) -> Self {
        Self::InvalidToken(r)
    }
}

/// A configuration mistake found by a builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{0} is not an absolute http(s) URL without a fragment")]
    InvalidUrl(&'static str),
    #[error("could not build the HTTP client")]
    HttpClient,
    #[error("{0}")]
    Invalid(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_safe_to_quote() {
        let all = [
            InvalidReason::Malformed,
            InvalidReason::TooLarge,
            InvalidReason::Header,
            InvalidReason::Type,
            InvalidReason::Algorithm,
            InvalidReason::UnknownKey,
            InvalidReason::Signature,
            InvalidReason::Issuer,
            InvalidReason::Audience,
            InvalidReason::Expired,
            InvalidReason::NotYetValid,
            InvalidReason::IssuedInFuture,
            InvalidReason::Claims,
            InvalidReason::Inactive,
            InvalidReason::NotAccessToken,
        ];
        let mut errs: Vec<ValidationError> = all.iter().map(|r| (*r).into()).collect();
        errs.extend([
            ValidationError::MissingToken,
            ValidationError::InvalidRequest,
            ValidationError::InsufficientScope {
                required: vec!["a".into()],
            },
            ValidationError::Unavailable,
        ]);
        for e in errs {
            let d = e.description();
            assert!(!d.contains("scope="), "{d}");
            assert!(!d.contains('"') && !d.contains('\\'), "{d}");
            assert!(!e.to_string().is_empty());
        }
    }
}
