//! Authorization request parameters (OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1,
//! RFC 8707, RFC 7636): parsing and the rules that need no storage.
//!
//! The order of checks matters: until `client_id` and `redirect_uri` are
//! validated (by the server, against the store) errors must be shown to the
//! person, never redirected. [`RawParams::parse`] therefore only fails for
//! problems with those two; every other problem is reported by
//! [`RawParams::validate`] as a redirectable error.

use crate::error::{ErrorCode, OAuthError};
use crate::token_request::Params;
use crate::{pkce, scope};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    /// Everything else, kept as pairs until the redirect target is trusted.
    rest: Vec<(String, String)>,
}

/// Problems that must be shown on a page (no trusted redirect yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    MissingClientId,
    Duplicate(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request, kept server-side between the sign-in
/// and consent pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// OIDC `ui_locales`: the languages the client would like the pages in.
    #[serde(default)]
    pub ui_locales: Option<String>,
    pub created_at: i64,
}

/// The parts of [`AuthorizationRequest`] that need no store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub state: Option<String>,
    pub code_challenge: String,
    pub requested_scopes: Vec<String>,
    pub resource: Vec<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
}

impl RawParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, PageError> {
        let p = Params::new(pairs);
        let client_id = p
            .single("client_id")
            .map_err(|_| PageError::Duplicate("client_id"))?
            .map(str::to_owned);
        let redirect_uri = p
            .single("redirect_uri")
            .map_err(|_| PageError::Duplicate("redirect_uri"))?
            .map(str::to_owned);
        if client_id.is_none() {
            return Err(PageError::MissingClientId);
        }
        Ok(Self {
            client_id,
            redirect_uri,
            rest: pairs.to_vec(),
        })
    }

    /// The `state` to echo on error redirects, even when other checks fail.
    pub fn state(&self) -> Option<String> {
        Params::new(&self.rest)
            .single("state")
            .ok()
            .flatten()
            .map(|s| s.chars().take(2048).collect())
    }

    /// Every rule that does not need the store. Errors are redirectable.
    pub fn validate(&self) -> Result<Validated, OAuthError> {
        let p = Params::new(&self.rest);
        check_response_shape(&p)?;
        let state = p.single("state")?;
        if state.is_some_and(|s| s.len() > 2048) {
            return Err(OAuthError::invalid_request("state is too long"));
        }
        let code_challenge = pkce::validate_challenge(
            p.single("code_challenge")?,
            p.single("code_challenge_method")?,
        )?;
        let requested_scopes = scope::parse(p.single("scope")?.unwrap_or(""))?;
        if requested_scopes.len() > 100 {
            return Err(OAuthError::invalid_scope("too many scopes"));
        }
        let resource = p.all("resource");
        let nonce = p.single("nonce")?;
        if nonce.is_some_and(|n| n.len() > 512) {
            return Err(OAuthError::invalid_request("nonce is too long"));
        }
        let prompt = match p.single("prompt")? {
            Some(v) => Prompt::parse(v)?,
            None => Prompt::default(),
        };
        let max_age = match p.single("max_age")? {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })?),
        };
        let login_hint = p
            .single("login_hint")?
            .map(|h| h.chars().take(254).collect::<String>());
        // Only a preference: an odd value is cut short, never an error.
        let ui_locales = p
            .single("ui_locales")?
            .map(|h| h.chars().take(256).collect::<String>());
        Ok(Validated {
            state: state.map(str::to_owned),
            code_challenge,
            requested_scopes,
            resource,
            nonce: nonce.map(str::to_owned),
            prompt,
            max_age,
            login_hint,
            ui_locales,
        })
    }
}

/// How the answer comes back: only a code (`response_type=code`), only in
/// the query (`response_mode=query`), and never driven by a request object
/// (neither `request` nor `request_uri`), which this server does not verify.
fn check_response_shape(p: &Params<'_>) -> Result<(), OAuthError> {
    match p.single("response_type")? {
        Some("code") => {}
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if let Some(m) = p.single("response_mode")?
        && m != "query"
    {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }
    if p.single("request")?.is_some() || p.single("request_uri")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "request objects are not supported",
        ));
    }
    Ok(())
}

impl Prompt {
    /// A space-separated `prompt` value (OIDC Core §3.1.2.1).
    /// `select_account` is accepted and ignored (there is no account chooser);
    /// `none` alone only, since it forbids the pages the others ask for.
    fn parse(v: &str) -> Result<Self, OAuthError> {
        let mut prompt = Prompt::default();
        for tok in v.split(' ').filter(|t| !t.is_empty()) {
            match tok {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                other => {
                    return Err(OAuthError::invalid_request(format!(
                        "prompt value {:?} is not supported",
                        other.chars().take(32).collect::<String>()
                    )));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

/// Whether the person must sign in (again) before this request proceeds.
pub fn needs_login(auth_time: Option<i64>, prompt: Prompt, max_age: Option<i64>, now: i64) -> bool {
    match auth_time {
        None => true,
        Some(t) => prompt.login || max_age.is_some_and(|m| now - t > m),
    }
}

/// Scopes of `requested` not yet covered by `consented`.
pub fn new_scopes(requested: &[String], consented: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| !consented.contains(s))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "c"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("response_type", "code"),
            ("code_challenge", CH),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]
    }

    #[test]
    fn good_request() {
        let r = RawParams::parse(&pairs(&good())).unwrap();
        let v = r.validate().unwrap();
        assert_eq!(v.state.as_deref(), Some("xyz"));
        assert_eq!(v.code_challenge, CH);
    }

    #[test]
    fn page_errors_for_client_and_redirect() {
        assert_eq!(
            RawParams::parse(&pairs(&[("response_type", "code")])).unwrap_err(),
            PageError::MissingClientId
        );
        let mut v = good();
        v.push(("redirect_uri", "http://127.0.0.1/other"));
        assert_eq!(
            RawParams::parse(&pairs(&v)).unwrap_err(),
            PageError::Duplicate("redirect_uri")
        );
    }

    type Edit<'a> = &'a dyn Fn(&mut Vec<(&'static str, &'static str)>);

    #[test]
    fn redirectable_errors() {
        let check = |edit: Edit<'_>, code: ErrorCode| {
            let mut v = good();
            edit(&mut v);
            let r = RawParams::parse(&pairs(&v)).unwrap();
            assert_eq!(r.validate().unwrap_err().code, code, "{v:?}");
        };
        check(
            &|v| v.retain(|p| p.0 != "code_challenge"),
            ErrorCode::InvalidRequest,
        );
        check(
            &|v| v.push(("code_challenge_method", "plain")),
            ErrorCode::InvalidRequest,
        );
        check(
            &|v| {
                v.retain(|p| p.0 != "code_challenge_method");
                v.push(("code_challenge_method", "plain"));
            },
            ErrorCode::InvalidRequest,
        );
        check(
            &|v| {
                v.retain(|p| p.0 != "response_type");
                v.push(("response_type", "token"));
            },
            ErrorCode::UnsupportedResponseType,
        );
        check(
            &|v| v.push(("prompt", "none login")),
            ErrorCode::InvalidRequest,
        );
        check(&|v| v.push(("max_age", "-1")), ErrorCode::InvalidRequest);
        check(&|v| v.push(("scope", "a\\b")), ErrorCode::InvalidScope);
        check(&|v| v.push(("request_uri", "x")), ErrorCode::InvalidRequest);
    }

    #[test]
    fn login_and_consent_rules() {
        assert!(needs_login(None, Prompt::default(), None, 10));
        assert!(!needs_login(Some(5), Prompt::default(), None, 10));
        assert!(needs_login(
            Some(5),
            Prompt {
                login: true,
                ..Prompt::default()
            },
            None,
            10
        ));
        assert!(needs_login(Some(5), Prompt::default(), Some(2), 10));
        assert!(!needs_login(Some(5), Prompt::default(), Some(6), 10));
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(new_scopes(&v(&["a", "b"]), &v(&["a"])), v(&["b"]));
    }
}
