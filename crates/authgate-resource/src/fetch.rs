//! Talking to the authorization server: RFC 8414 / OIDC discovery, the
//! JWKS, RFC 7662 introspection. Responses are size-capped; only a 200
//! counts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// Largest metadata, JWKS or introspection document read.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("document larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("document is not the expected JSON")]
    Json,
    #[error("metadata issuer does not equal the configured issuer")]
    IssuerMismatch,
    #[error("metadata has no {0}")]
    Missing(&'static str),
    #[error("no metadata document found")]
    NoMetadata,
}

async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if resp.status().as_u16() != 200 {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    if resp
        .content_length()
        .is_some_and(|l| l > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, FetchError> {
    let resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await?;
    read_capped(resp).await
}

/// What the validator needs from the authorization server's metadata.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Endpoints {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub introspection_endpoint: Option<String>,
}

/// The discovery URLs for an issuer, in the order tried: RFC 8414
/// path-inserted, OIDC path-inserted, OIDC path-appended (for an issuer
/// without a path the first two are the plain well-known URLs).
pub(crate) fn discovery_urls(issuer: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(issuer) else {
        return Vec::new();
    };
    let origin = u.origin().ascii_serialization();
    let path = u.path().trim_end_matches('/');
    let mut urls = vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
    ];
    if !path.is_empty() {
        urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    }
    urls
}

/// Fetches the first metadata document that answers, and checks its
/// `issuer` is byte-for-byte the configured one (RFC 8414 §3.3).
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Endpoints, FetchError> {
    let mut last = FetchError::NoMetadata;
    for url in discovery_urls(issuer) {
        // A 200 that is not metadata (an HTML fallback page) or names
        // another issuer does not end the search; the next form may answer.
        let result = match get(http, &url).await {
            Ok(body) => match serde_json::from_slice::<Endpoints>(&body) {
                Ok(meta) if meta.issuer == issuer => return Ok(meta),
                Ok(_) => FetchError::IssuerMismatch,
                Err(_) => FetchError::Json,
            },
            Err(e) => e,
        };
        if !matches!(last, FetchError::IssuerMismatch) {
            last = result;
        }
    }
    Err(last)
}

/// `application/x-www-form-urlencoded` encoding of a client credential
/// before it goes into HTTP Basic (RFC 6749 §2.3.1).
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The client credentials the resource uses at the introspection endpoint.
#[derive(Clone)]
pub(crate) struct ClientCredentials {
    /// The precomputed `Authorization: Basic …` value.
    pub basic: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCredentials(..)")
    }
}

impl ClientCredentials {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        let raw = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
        Self {
            basic: format!("Basic {}", STANDARD.encode(raw)),
        }
    }
}

/// RFC 7662 introspection with `client_secret_basic`.
pub(crate) async fn introspect(
    http: &reqwest::Client,
    endpoint: &str,
    creds: &ClientCredentials,
    token: &str,
) -> Result<Vec<u8>, FetchError> {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("token_type_hint", "access_token")
        .finish();
    let resp = http
        .post(endpoint)
        .header(reqwest::header::AUTHORIZATION, &creds.basic)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await?;
    read_capped(resp).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_forms() {
        assert_eq!(
            discovery_urls("https://as.example"),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            discovery_urls("https://as.example/t/"),
            [
                "https://as.example/.well-known/oauth-authorization-server/t",
                "https://as.example/.well-known/openid-configuration/t",
                "https://as.example/t/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        let c = ClientCredentials::new("a b", "p:w");
        assert_eq!(c.basic, format!("Basic {}", STANDARD.encode("a+b:p%3Aw")));
        assert!(!format!("{c:?}").contains("p%3Aw"));
    }
}
