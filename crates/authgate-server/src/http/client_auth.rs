//! Client credentials from an HTTP request: `client_secret_basic` in the
//! `Authorization` header (RFC 6749 §2.3.1) plus the body's parameters,
//! handed to `authgate_authority::client_auth`. An `invalid_client` error
//! answers with the `WWW-Authenticate` the client used.

use crate::http::error::ApiError;
use crate::http::form;
use crate::state::AppState;
use authgate_authority::client_auth::{self, AuthenticatedClient, Credentials};
use authgate_core::OAuthError;
use authgate_core::token_request::{BodyClientAuth, Params};
use axum::http::{HeaderMap, header};
use base64::Engine;

/// Credentials found in the Authorization header (client_secret_basic).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(OAuthError::invalid_client("malformed Authorization header"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "unsupported Authorization scheme; use Basic client credentials",
        ));
    }
    let malformed = || OAuthError::invalid_client("malformed Basic credentials");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| malformed())?;
    let colon = raw.iter().position(|b| *b == b':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64 (so a
    // ':' inside either is escaped and the first one separates them).
    let id = form::decode(&raw[..colon]).map_err(|_| malformed())?;
    let sec = form::decode(&raw[colon + 1..]).map_err(|_| malformed())?;
    Ok(Some((id, sec)))
}

pub fn used_basic(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
}

/// The client credentials among a request body's parameters (for
/// endpoints that parse their own body: introspection, revocation).
pub fn body_client_auth(p: &Params<'_>) -> Result<BodyClientAuth, OAuthError> {
    Ok(BodyClientAuth {
        client_id: p.single("client_id")?.map(str::to_owned),
        client_secret: p.single("client_secret")?.map(str::to_owned),
        client_assertion_type: p.single("client_assertion_type")?.map(str::to_owned),
        client_assertion: p.single("client_assertion")?.map(str::to_owned),
    })
}

/// Authenticates the client of a token-endpoint-style request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &BodyClientAuth,
) -> Result<AuthenticatedClient, ApiError> {
    let basic = used_basic(headers);
    let wrap = |e: OAuthError| ApiError::from(e).with_basic(basic);
    let credentials = Credentials {
        basic: basic_credentials(headers).map_err(wrap)?,
        body,
    };
    client_auth::authenticate(state, credentials)
        .await
        .map_err(wrap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn creds(authorization: &str) -> Result<Option<(String, String)>, OAuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).unwrap(),
        );
        basic_credentials(&headers)
    }

    fn basic(raw: &[u8]) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        assert_eq!(basic_credentials(&HeaderMap::new()).unwrap(), None);
        let (id, sec) = creds(&basic(b"svc:s3cret")).unwrap().unwrap();
        assert_eq!((id.as_str(), sec.as_str()), ("svc", "s3cret"));
        // RFC 6749 §2.3.1: an escaped ':' belongs to the id; '+' is a space;
        // the first raw ':' separates, later ones belong to the secret.
        let (id, sec) = creds(&basic(b"a%3Ab+c:x:y%2B%C3%A9")).unwrap().unwrap();
        assert_eq!((id.as_str(), sec.as_str()), ("a:b c", "x:y+\u{e9}"));
        let (id, sec) = creds(&format!("bAsIc  {} ", &basic(b"id:")[6..]))
            .unwrap()
            .unwrap();
        assert_eq!((id.as_str(), sec.as_str()), ("id", ""));
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_client() {
        for bad in [
            basic(b"no-colon"),
            basic(b"id%zz:secret"),
            basic(b"id:secret%"),
            basic(b"id:%FF"),
            basic(b"id:\xff"),
            basic(b"id:a%00b"),
            "Basic !!!".to_owned(),
            "Bearer abc".to_owned(),
            "Basic".to_owned(),
        ] {
            let err = creds(&bad).expect_err(&bad);
            assert_eq!(err.code, authgate_core::ErrorCode::InvalidClient, "{bad}");
        }
    }
}
