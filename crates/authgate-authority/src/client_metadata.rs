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

fn text(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, OAuthError> {
    let Some(s) = opt_str(obj, field)? else {
        return Ok(None);
    };
    let s = s.trim();
    check_text(field, s)?;
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

/// A refused field: which one, why, and the OAuth error code it answers
/// with. The rules below are typed so that every way a client is made
/// (registration, metadata document, administrator, config file) runs the
/// same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
    pub code: ErrorCode,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
            code: ErrorCode::InvalidClientMetadata,
        }
    }
    fn redirect(reason: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidRedirectUri,
            ..Self::new("redirect_uris", reason)
        }
    }
    /// As an OAuth error whose description starts with the field.
    pub fn oauth(&self) -> OAuthError {
        OAuthError::new(self.code, format!("{}: {}", self.field, self.reason))
    }
}

impl From<FieldError> for OAuthError {
    fn from(e: FieldError) -> Self {
        e.oauth()
    }
}

/// At most [`MAX_REDIRECT_URIS`] redirect URIs, each short and valid for
/// registration (absolute, no fragment; https or loopback http or a
/// private-use scheme).
pub fn check_redirect_uris(uris: &[String]) -> Result<(), FieldError> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(FieldError::new(
            "redirect_uris",
            format!("more than {MAX_REDIRECT_URIS} entries"),
        ));
    }
    for u in uris {
        if u.len() > MAX_URI_LEN {
            return Err(FieldError::redirect("a redirect URI is too long"));
        }
        redirect_uri::validate_for_registration(u)
            .map_err(|e: RedirectUriError| FieldError::redirect(e.to_string()))?;
    }
    Ok(())
}

/// A display text (`client_name`, `software_id`...): short, no control
/// characters.
pub fn check_text(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.chars().count() > MAX_TEXT_LEN {
        return Err(FieldError::new(
            field,
            format!("longer than {MAX_TEXT_LEN} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(())
}

/// Every grant type is one authgate supports.
pub fn check_grant_types(grant_types: &[String]) -> Result<(), FieldError> {
    match grant_types
        .iter()
        .find(|g| !SUPPORTED_GRANT_TYPES.contains(&g.as_str()))
    {
        None => Ok(()),
        Some(g) => Err(FieldError::new(
            "grant_types",
            format!(
                "{:?} is not supported (supported: {})",
                g.chars().take(64).collect::<String>(),
                SUPPORTED_GRANT_TYPES.join(", ")
            ),
        )),
    }
}

/// The flows fit together: only the `code` response type, which needs the
/// authorization_code grant, which needs a redirect URI.
pub fn check_flows(m: &ClientMetadata) -> Result<(), FieldError> {
    if let Some(r) = m.response_types.iter().find(|r| *r != "code") {
        return Err(FieldError::new(
            "response_types",
            format!(
                "{:?} is not supported; only \"code\" is",
                r.chars().take(64).collect::<String>()
            ),
        ));
    }
    let has_code = m.grant_types.iter().any(|g| g == "authorization_code");
    if has_code && m.redirect_uris.is_empty() {
        return Err(FieldError::redirect(
            "required for the authorization_code grant",
        ));
    }
    if !m.response_types.is_empty() && !has_code {
        return Err(FieldError::new(
            "grant_types",
            "response_types \"code\" needs the authorization_code grant",
        ));
    }
    Ok(())
}

/// The auth method fits the rest: `private_key_jwt` needs keys, and the
/// client_credentials grant needs a client that authenticates.
pub fn check_auth_method(m: &ClientMetadata) -> Result<(), FieldError> {
    let method = m.token_endpoint_auth_method;
    if method == TokenEndpointAuthMethod::PrivateKeyJwt && m.jwks.is_none() && m.jwks_uri.is_none()
    {
        return Err(FieldError::new(
            "token_endpoint_auth_method",
            "private_key_jwt needs jwks or jwks_uri",
        ));
    }
    if method == TokenEndpointAuthMethod::None
        && m.grant_types.iter().any(|g| g == "client_credentials")
    {
        return Err(FieldError::new(
            "grant_types",
            "client_credentials needs a confidential token_endpoint_auth_method",
        ));
    }
    Ok(())
}

/// Validates `obj` into stored metadata (fields checked in a fixed order,
/// so the first fault reported does not depend on the caller).
pub fn validate(obj: &Map<String, Value>, rules: Rules) -> Result<ClientMetadata, OAuthError> {
    let doc = rules.origin == Origin::Document;
    let redirect_uris = opt_str_list(obj, "redirect_uris")?.unwrap_or_default();
    check_redirect_uris(&redirect_uris)?;
    let [client_uri, logo_uri, tos_uri, policy_uri] = display_urls(obj, doc)?;
    let client_name = text(obj, "client_name")?;
    let software_id = text(obj, "software_id")?;
    let software_version = text(obj, "software_version")?;
    let scope = registered_scope(obj)?;
    let contacts = contacts(obj)?;
    let (grant_types, response_types) = flows(obj)?;
    let mut m = ClientMetadata {
        redirect_uris,
        client_name,
        client_uri,
        logo_uri,
        scope,
        grant_types,
        response_types,
        software_id,
        software_version,
        contacts,
        tos_uri,
        policy_uri,
        ..ClientMetadata::default()
    };
    check_flows(&m)?;
    m.application_type = application_type(obj, &m.redirect_uris)?;
    (m.jwks, m.jwks_uri) = keys(obj, rules)?;
    m.token_endpoint_auth_method = auth_method(obj, &m, doc)?;
    check_auth_method(&m)?;
    m.id_token_signed_response_alg = id_token_alg(obj)?;
    Ok(m)
}

/// `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`: absolute https URLs.
fn display_urls(obj: &Map<String, Value>, doc: bool) -> Result<[Option<String>; 4], OAuthError> {
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
    Ok(urls)
}

fn registered_scope(obj: &Map<String, Value>) -> Result<Option<String>, OAuthError> {
    let Some(s) = opt_str(obj, "scope")? else {
        return Ok(None);
    };
    let list = scope::parse(s).map_err(|_| bad("scope", "is not a valid scope string"))?;
    if list.len() > 100 {
        return Err(bad("scope", "names too many scopes"));
    }
    Ok((!list.is_empty()).then(|| scope::join(&list)))
}

fn contacts(obj: &Map<String, Value>) -> Result<Vec<String>, OAuthError> {
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
    Ok(contacts)
}

/// `grant_types` and `response_types` with their defaults, de-duplicated.
fn flows(obj: &Map<String, Value>) -> Result<(Vec<String>, Vec<String>), OAuthError> {
    let mut grant_types = opt_str_list(obj, "grant_types")?.unwrap_or_default();
    if grant_types.is_empty() {
        grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    }
    check_grant_types(&grant_types)?;
    dedup(&mut grant_types);
    let mut response_types = opt_str_list(obj, "response_types")?.unwrap_or_default();
    if response_types.is_empty() && grant_types.iter().any(|g| g == "authorization_code") {
        response_types = vec!["code".into()];
    }
    dedup(&mut response_types);
    Ok((grant_types, response_types))
}

fn application_type(
    obj: &Map<String, Value>,
    redirect_uris: &[String],
) -> Result<Option<String>, OAuthError> {
    let native_redirects = redirect_uris.iter().any(|u| {
        redirect_uri::is_loopback_redirect(u)
            || !(u.starts_with("https:") || u.starts_with("http:"))
    });
    match opt_str(obj, "application_type")? {
        None => Ok(Some(
            if native_redirects { "native" } else { "web" }.to_string(),
        )),
        Some(a @ ("web" | "native")) => Ok(Some(a.to_owned())),
        Some(_) => Err(bad("application_type", "must be \"web\" or \"native\"")),
    }
}

/// `jwks` or `jwks_uri` (not both).
fn keys(
    obj: &Map<String, Value>,
    rules: Rules,
) -> Result<(Option<Value>, Option<String>), OAuthError> {
    let jwks = match obj.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v) => {
            jwks::parse(v).map_err(|why| bad("jwks", why))?;
            Some(v.clone())
        }
    };
    let jwks_uri = match opt_str(obj, "jwks_uri")? {
        None => None,
        Some(s) => Some(jwks_uri(s, rules.allow_loopback)?),
    };
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(bad("jwks", "give jwks or jwks_uri, not both"));
    }
    Ok((jwks, jwks_uri))
}

fn jwks_uri(s: &str, allow_loopback: bool) -> Result<String, OAuthError> {
    let u = url::Url::parse(s).map_err(|_| bad("jwks_uri", "must be an absolute https URL"))?;
    let loopback_http = allow_loopback
        && u.scheme() == "http"
        && u.host_str()
            .is_some_and(authgate_core::resource_uri::is_loopback_host);
    if !loopback_http {
        https_url(s).map_err(|why| bad("jwks_uri", why))?;
    }
    if u.fragment().is_some() {
        return Err(bad("jwks_uri", "must not contain a fragment"));
    }
    Ok(s.to_owned())
}

/// `token_endpoint_auth_method`, defaulted (see the module comment); a
/// document may not use a shared secret.
fn auth_method(
    obj: &Map<String, Value>,
    m: &ClientMetadata,
    doc: bool,
) -> Result<TokenEndpointAuthMethod, OAuthError> {
    let method = match opt_str(obj, "token_endpoint_auth_method")? {
        Some(s) => TokenEndpointAuthMethod::parse(s).ok_or_else(|| {
            bad(
                "token_endpoint_auth_method",
                format!(
                    "{:?} is not supported (supported: none, client_secret_basic, client_secret_post, private_key_jwt)",
                    s.chars().take(64).collect::<String>()
                ),
            )
        })?,
        None if doc => TokenEndpointAuthMethod::None,
        None if m.jwks.is_some() || m.jwks_uri.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
        None if m.application_type.as_deref() == Some("native") => TokenEndpointAuthMethod::None,
        None => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    if doc && uses_shared_secret(method) {
        return Err(bad(
            "token_endpoint_auth_method",
            "a metadata document cannot use a shared secret; use none or private_key_jwt",
        ));
    }
    Ok(method)
}

/// Whether `method` authenticates with a client secret.
pub fn uses_shared_secret(method: TokenEndpointAuthMethod) -> bool {
    matches!(
        method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    )
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
