//! Client metadata (RFC 7591 §2) as it arrives from a registration request
//! or a client ID metadata document: typed, checked field by field, with an
//! error that names the field. Unknown fields are ignored.
//!
//! Defaults (documented choices):
//! - `grant_types` → `["authorization_code", "refresh_token"]`: MCP clients
//!   expect refresh tokens and several omit the field;
//! - `response_types` → `["code"]`;
//! - `application_type` → inferred: `native` when any redirect URI is
//!   loopback http or a private-use scheme, else `web`;
//! - `token_endpoint_auth_method` → `none` for documents (the draft's
//!   default); for registrations `none` when the client is native (it cannot
//!   keep a secret, RFC 8252 §8.5), else `client_secret_basic` (RFC 7591).

use crate::cimd::jwks;
use authgate_core::model::{ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use authgate_core::redirect_uri::{self, RedirectUriError};
use authgate_core::signing::ID_TOKEN_ALGS;
use authgate_core::{ErrorCode, OAuthError, scope};
use serde_json::{Map, Value};

const MAX_REDIRECT_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_TEXT_LEN: usize = 200;
const MAX_CONTACTS: usize = 10;

/// Where metadata comes from (the rules differ slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// RFC 7591 registration or RFC 7592 update.
    Registration,
    /// A client ID metadata document.
    Document,
}

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub origin: Origin,
    /// Test-only: `jwks_uri` may be plain http on a loopback host.
    pub allow_loopback: bool,
}

pub const SUPPORTED_GRANT_TYPES: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials"];

fn bad(field: &str, why: impl std::fmt::Display) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, format!("{field}: {why}"))
}

fn bad_redirect(e: RedirectUriError) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, format!("redirect_uris: {e}"))
}

/// A string field; `null` and `""` count as absent.
fn opt_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, OAuthError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(field, "must be a string")),
    }
}

fn opt_str_list(obj: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(field, "must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(field, "must be an array of strings")),
    }
}

fn text(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, OAuthError> {
    let Some(s) = opt_str(obj, field)? else {
        return Ok(None);
    };
    let s = s.trim();
    if s.chars().count() > MAX_TEXT_LEN {
        return Err(bad(field, format!("longer than {MAX_TEXT_LEN} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(bad(field, "contains control characters"));
    }
    Ok(Some(s.to_owned()))
}

/// An absolute https URL (RFC 7591 §2 URL-typed fields).
pub fn https_url(s: &str) -> Result<url::Url, &'static str> {
    if s.len() > MAX_URI_LEN {
        return Err("is too long");
    }
    let u = url::Url::parse(s).map_err(|_| "must be an absolute https URL")?;
    if u.scheme() != "https" || u.host_str().is_none_or(str::is_empty) {
        return Err("must be an absolute https URL");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain user information");
    }
    Ok(u)
}

/// Validates `obj` into stored metadata.
pub fn validate(obj: &Map<String, Value>, rules: Rules) -> Result<ClientMetadata, OAuthError> {
    let doc = rules.origin == Origin::Document;

    // redirect_uris
    let redirect_uris = opt_str_list(obj, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(bad(
            "redirect_uris",
            format!("more than {MAX_REDIRECT_URIS} entries"),
        ));
    }
    for u in &redirect_uris {
        if u.len() > MAX_URI_LEN {
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                "redirect_uris: a redirect URI is too long",
            ));
        }
        redirect_uri::validate_for_registration(u).map_err(bad_redirect)?;
    }

    // URL-typed display fields
    let mut urls: [Option<String>; 4] = Default::default();
    for (i, field) in ["client_uri", "logo_uri", "tos_uri", "policy_uri"]
        .iter()
        .enumerate()
    {
        if let Some(s) = opt_str(obj, field)? {
            match https_url(s) {
                Ok(_) => urls[i] = Some(s.to_owned()),
                // A document is not echoed anywhere: drop a bad display URL
                // rather than refusing the client over it.
                Err(_) if doc => {}
                Err(why) => return Err(bad(field, why)),
            }
        }
    }
    let [client_uri, logo_uri, tos_uri, policy_uri] = urls;

    let client_name = text(obj, "client_name")?;
    let software_id = text(obj, "software_id")?;
    let software_version = text(obj, "software_version")?;

    let scope = match opt_str(obj, "scope")? {
        None => None,
        Some(s) => {
            let list = scope::parse(s).map_err(|_| bad("scope", "is not a valid scope string"))?;
            if list.len() > 100 {
                return Err(bad("scope", "names too many scopes"));
            }
            (!list.is_empty()).then(|| scope::join(&list))
        }
    };

    let contacts = opt_str_list(obj, "contacts")?.unwrap_or_default();
    if contacts.len() > MAX_CONTACTS
        || contacts
            .iter()
            .any(|c| c.len() > 320 || c.chars().any(char::is_control))
    {
        return Err(bad(
            "contacts",
            format!("at most {MAX_CONTACTS} short strings"),
        ));
    }

    let mut grant_types = opt_str_list(obj, "grant_types")?.unwrap_or_default();
    if grant_types.is_empty() {
        grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    }
    for g in &grant_types {
        if !SUPPORTED_GRANT_TYPES.contains(&g.as_str()) {
            return Err(bad(
                "grant_types",
                format!(
                    "{:?} is not supported (supported: {})",
                    g.chars().take(64).collect::<String>(),
                    SUPPORTED_GRANT_TYPES.join(", ")
                ),
            ));
        }
    }
    dedup(&mut grant_types);

    let mut response_types = opt_str_list(obj, "response_types")?.unwrap_or_default();
    if response_types.is_empty() && grant_types.iter().any(|g| g == "authorization_code") {
        response_types = vec!["code".into()];
    }
    if let Some(r) = response_types.iter().find(|r| *r != "code") {
        return Err(bad(
            "response_types",
            format!(
                "{:?} is not supported; only \"code\" is",
                r.chars().take(64).collect::<String>()
            ),
        ));
    }
    dedup(&mut response_types);

    let has_code = grant_types.iter().any(|g| g == "authorization_code");
    if has_code && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris: required for the authorization_code grant",
        ));
    }
    if !response_types.is_empty() && !has_code {
        return Err(bad(
            "grant_types",
            "response_types \"code\" needs the authorization_code grant",
        ));
    }

    let native_redirects = redirect_uris.iter().any(|u| {
        redirect_uri::is_loopback_redirect(u)
            || !(u.starts_with("https:") || u.starts_with("http:"))
    });
    let application_type = match opt_str(obj, "application_type")? {
        None => Some(if native_redirects { "native" } else { "web" }.to_string()),
        Some(a @ ("web" | "native")) => Some(a.to_owned()),
        Some(_) => return Err(bad("application_type", "must be \"web\" or \"native\"")),
    };

    // Keys
    let jwks = match obj.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v) => {
            jwks::parse(v).map_err(|why| bad("jwks", why))?;
            Some(v.clone())
        }
    };
    let jwks_uri = match opt_str(obj, "jwks_uri")? {
        None => None,
        Some(s) => {
            let u =
                url::Url::parse(s).map_err(|_| bad("jwks_uri", "must be an absolute https URL"))?;
            let loopback_http = rules.allow_loopback
                && u.scheme() == "http"
                && u.host_str()
                    .is_some_and(authgate_core::resource_uri::is_loopback_host);
            if !loopback_http {
                https_url(s).map_err(|why| bad("jwks_uri", why))?;
            }
            if u.fragment().is_some() {
                return Err(bad("jwks_uri", "must not contain a fragment"));
            }
            Some(s.to_owned())
        }
    };
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(bad("jwks", "give jwks or jwks_uri, not both"));
    }

    let method = match opt_str(obj, "token_endpoint_auth_method")? {
        Some(m) => TokenEndpointAuthMethod::parse(m).ok_or_else(|| {
            bad(
                "token_endpoint_auth_method",
                format!(
                    "{:?} is not supported (supported: none, client_secret_basic, client_secret_post, private_key_jwt)",
                    m.chars().take(64).collect::<String>()
                ),
            )
        })?,
        None if doc => TokenEndpointAuthMethod::None,
        None if jwks.is_some() || jwks_uri.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
        None if application_type.as_deref() == Some("native") => TokenEndpointAuthMethod::None,
        None => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    if doc
        && matches!(
            method,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        )
    {
        return Err(bad(
            "token_endpoint_auth_method",
            "a metadata document cannot use a shared secret; use none or private_key_jwt",
        ));
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(bad(
            "token_endpoint_auth_method",
            "private_key_jwt needs jwks or jwks_uri",
        ));
    }
    if method == TokenEndpointAuthMethod::None
        && grant_types.iter().any(|g| g == "client_credentials")
    {
        return Err(bad(
            "grant_types",
            "client_credentials needs a confidential token_endpoint_auth_method",
        ));
    }

    let id_token_signed_response_alg = id_token_alg(obj)?;

    Ok(ClientMetadata {
        redirect_uris,
        client_name,
        client_uri,
        logo_uri,
        scope,
        grant_types,
        response_types,
        token_endpoint_auth_method: method,
        application_type,
        software_id,
        software_version,
        contacts,
        jwks,
        jwks_uri,
        tos_uri,
        policy_uri,
        id_token_signed_response_alg,
    })
}

/// `id_token_signed_response_alg` (OIDC Dynamic Client Registration §2):
/// one of the algorithms authgate keeps an ID-token key for. Anything else,
/// `none` and HMAC included, is refused here rather than answered later
/// with an ID token the client cannot verify.
fn id_token_alg(obj: &Map<String, Value>) -> Result<Option<SigningAlg>, OAuthError> {
    const FIELD: &str = "id_token_signed_response_alg";
    let Some(s) = opt_str(obj, FIELD)? else {
        return Ok(None);
    };
    match SigningAlg::parse(s).filter(|a| ID_TOKEN_ALGS.contains(a)) {
        Some(a) => Ok(Some(a)),
        None => Err(bad(
            FIELD,
            format!(
                "{:?} is not supported (supported: {})",
                s.chars().take(64).collect::<String>(),
                ID_TOKEN_ALGS.map(SigningAlg::as_str).join(", ")
            ),
        )),
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

/// The stored metadata as a JSON object (what registration responses and
/// reads echo).
pub fn to_json(m: &ClientMetadata) -> Map<String, Value> {
    match serde_json::to_value(m) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reg(v: Value) -> Result<ClientMetadata, OAuthError> {
        validate(
            v.as_object().unwrap(),
            Rules {
                origin: Origin::Registration,
                allow_loopback: false,
            },
        )
    }

    #[test]
    fn infers_native_and_none_for_loopback() {
        let m = reg(json!({"redirect_uris": ["http://127.0.0.1:5555/cb"]})).unwrap();
        assert_eq!(m.application_type.as_deref(), Some("native"));
        assert_eq!(m.token_endpoint_auth_method, TokenEndpointAuthMethod::None);
        assert_eq!(m.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(m.response_types, ["code"]);
        let m = reg(json!({"redirect_uris": ["https://app.example/cb"]})).unwrap();
        assert_eq!(m.application_type.as_deref(), Some("web"));
        assert_eq!(
            m.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
    }

    #[test]
    fn names_the_bad_field() {
        let e = reg(json!({"redirect_uris": ["https://a.example/cb"], "logo_uri": "not a url"}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClientMetadata);
        assert!(e.description.starts_with("logo_uri"), "{}", e.description);
        let e = reg(json!({"redirect_uris": ["https://a.example/cb#x"]})).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRedirectUri);
        let e = reg(json!({"redirect_uris": "https://a.example/cb"})).unwrap_err();
        assert!(e.description.starts_with("redirect_uris"));
        let e = reg(json!({})).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRedirectUri);
        let e = reg(json!({"redirect_uris": ["http://x/cb"], "grant_types": ["implicit"]}))
            .unwrap_err();
        assert!(
            e.description.starts_with("redirect_uris") || e.description.starts_with("grant_types")
        );
    }

    #[test]
    fn id_token_signed_response_alg_is_one_authgate_signs_with() {
        let cb = "https://a.example/cb";
        assert_eq!(
            reg(json!({"redirect_uris": [cb]}))
                .unwrap()
                .id_token_signed_response_alg,
            None
        );
        for (alg, want) in [
            ("RS256", SigningAlg::RS256),
            ("ES256", SigningAlg::ES256),
            ("EdDSA", SigningAlg::EdDSA),
        ] {
            let m =
                reg(json!({"redirect_uris": [cb], "id_token_signed_response_alg": alg})).unwrap();
            assert_eq!(m.id_token_signed_response_alg, Some(want));
            // Echoed as registered.
            assert_eq!(to_json(&m)["id_token_signed_response_alg"], alg);
        }
        for alg in [
            json!("none"),
            json!("HS256"),
            json!("rs256"),
            json!("PS256"),
            json!(7),
        ] {
            let e = reg(json!({"redirect_uris": [cb], "id_token_signed_response_alg": alg}))
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{alg}");
            assert!(
                e.description.starts_with("id_token_signed_response_alg"),
                "{}",
                e.description
            );
        }
    }

    #[test]
    fn documents_refuse_secrets_methods() {
        let e = validate(
            json!({"redirect_uris": ["https://a.example/cb"],
                   "token_endpoint_auth_method": "client_secret_post"})
            .as_object()
            .unwrap(),
            Rules {
                origin: Origin::Document,
                allow_loopback: false,
            },
        )
        .unwrap_err();
        assert!(e.description.contains("shared secret"));
    }
}
