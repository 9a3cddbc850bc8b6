//! Redirect URI rules: exact string match, except loopback redirects
//! (`127.0.0.1`, `[::1]`, `localhost`) where any port is accepted
//! (RFC 8252 §7.3; real MCP clients pick a free port per run).

use crate::resource_uri::is_loopback_host;
use url::Url;

/// Is `presented` allowed by any of `registered`?
pub fn is_allowed(presented: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| matches_one(presented, r))
}

fn matches_one(presented: &str, registered: &str) -> bool {
    if presented == registered {
        return true;
    }
    let (Ok(p), Ok(r)) = (Url::parse(presented), Url::parse(registered)) else {
        return false;
    };
    let (Some(ph), Some(rh)) = (p.host_str(), r.host_str()) else {
        return false;
    };
    p.scheme() == "http"
        && r.scheme() == "http"
        && is_loopback_host(ph)
        && ph.eq_ignore_ascii_case(rh)
        && p.path() == r.path()
        && p.query() == r.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} must not contain a fragment")]
    Fragment(String),
    #[error("redirect URI {0:?} must use https, loopback http, or a private-use scheme")]
    Scheme(String),
    #[error("redirect URI {0:?} must not contain a wildcard")]
    Wildcard(String),
    #[error("redirect URI {0:?} must not contain user information")]
    UserInfo(String),
}

/// Validates a redirect URI at registration: https, http on a loopback
/// host, or a private-use scheme containing a dot or a custom scheme like
/// `cursor://` for native apps. No fragments, no wildcards.
pub fn validate_for_registration(uri: &str) -> Result<(), RedirectUriError> {
    let e = || uri.to_owned();
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard(e()));
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(e()))?;
    if url.fragment().is_some() {
        return Err(RedirectUriError::Fragment(e()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo(e()));
    }
    match url.scheme() {
        "https" if url.host_str().is_none() => return Err(RedirectUriError::NotAbsolute(e())),
        "https" => {}
        "http" if !url.host_str().map(is_loopback_host).unwrap_or(false) => {
            return Err(RedirectUriError::Scheme(e()));
        }
        "http" => {}
        // Schemes that would run code or leak data in a browser.
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss" => {
            return Err(RedirectUriError::Scheme(e()));
        }
        _ => {} // private-use scheme for a native app (RFC 8252 §7.1)
    }
    Ok(())
}

/// True when the URI is a loopback http redirect (native app on this machine).
pub fn is_loopback_redirect(uri: &str) -> bool {
    Url::parse(uri)
        .ok()
        .filter(|u| u.scheme() == "http")
        .and_then(|u| u.host_str().map(is_loopback_host))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_match_required_for_https() {
        let r = reg(&["https://app.example.com/cb"]);
        assert!(is_allowed("https://app.example.com/cb", &r));
        assert!(!is_allowed("https://app.example.com/cb/", &r));
        assert!(!is_allowed("https://app.example.com:8443/cb", &r));
        assert!(!is_allowed("https://evil.example.com/cb", &r));
    }

    #[test]
    fn loopback_any_port() {
        let r = reg(&[
            "http://127.0.0.1/callback",
            "http://localhost:3000/cb",
            "http://[::1]/cb",
        ]);
        assert!(is_allowed("http://127.0.0.1:51234/callback", &r));
        assert!(is_allowed("http://localhost:9999/cb", &r));
        assert!(is_allowed("http://[::1]:5000/cb", &r));
        assert!(!is_allowed("http://127.0.0.1:51234/other", &r));
        assert!(!is_allowed("http://localhost:9999/cb?x=1", &r));
        assert!(!is_allowed("http://127.0.0.2:80/callback", &r));
        assert!(!is_allowed("https://127.0.0.1:51234/callback", &r));
    }

    #[test]
    fn registration_rules() {
        assert!(validate_for_registration("https://a.example/cb").is_ok());
        assert!(validate_for_registration("http://localhost:1234/cb").is_ok());
        assert!(validate_for_registration("cursor://anysphere.cursor-retrieval/oauth").is_ok());
        assert!(validate_for_registration("http://a.example/cb").is_err());
        assert!(validate_for_registration("https://a.example/cb#f").is_err());
        assert!(validate_for_registration("https://*.example/cb").is_err());
        assert!(validate_for_registration("javascript:alert(1)").is_err());
        assert!(validate_for_registration("/relative").is_err());
    }
}
