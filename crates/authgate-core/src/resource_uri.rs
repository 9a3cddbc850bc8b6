//! Resource indicators (RFC 8707) and their canonical form (MCP spec):
//! lowercase scheme and host, no fragment, no default port. Comparison is
//! tolerant of a trailing slash (the commonest interop bug) but the
//! registered string is always what gets issued as `aud`.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceUriError {
    #[error("not an absolute URL")]
    NotAbsolute,
    #[error("must use https (http is allowed only for loopback hosts)")]
    Scheme,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must not contain user information")]
    UserInfo,
}

/// Parses and validates a resource URL for registration. Returns the
/// canonical string.
pub fn canonicalize(input: &str) -> Result<String, ResourceUriError> {
    let url = Url::parse(input.trim()).map_err(|_| ResourceUriError::NotAbsolute)?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(ResourceUriError::NotAbsolute);
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url.host_str().unwrap_or_default()) => {}
        _ => return Err(ResourceUriError::Scheme),
    }
    if url.fragment().is_some() {
        return Err(ResourceUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ResourceUriError::UserInfo);
    }
    // `Url` already lowercases scheme and host and drops default ports.
    let mut s = url.to_string();
    // `Url` renders an empty path as "/": keep the origin form without it so
    // `https://mcp.example.com` registers as typed.
    if url.path() == "/" && url.query().is_none() && !input.trim().ends_with('/') {
        s.pop();
    }
    Ok(s)
}

/// Compares a presented resource indicator with a registered canonical URL:
/// case of scheme/host, default port and one trailing slash are ignored.
pub fn matches(presented: &str, registered: &str) -> bool {
    // The common case (the client sends the URL exactly as registered) needs
    // no URL parsing: a registered URL was validated when it was registered,
    // and a fragment never survives that.
    if presented == registered && !registered.contains('#') && registered.contains("://") {
        return true;
    }
    match (comparable(presented), comparable(registered)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The normalized comparison key of a URL, or None when it is not one.
pub fn comparable(input: &str) -> Option<String> {
    let url = Url::parse(input.trim()).ok()?;
    if url.fragment().is_some() || url.host_str().is_none() {
        return None;
    }
    let mut s = url.to_string();
    if s.ends_with('/') && url.query().is_none() {
        s.pop();
    }
    Some(s)
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form() {
        assert_eq!(
            canonicalize("HTTPS://MCP.Example.com:443/mcp").unwrap(),
            "https://mcp.example.com/mcp"
        );
        assert_eq!(
            canonicalize("https://mcp.example.com").unwrap(),
            "https://mcp.example.com"
        );
        assert_eq!(
            canonicalize("http://127.0.0.1:8080/mcp").unwrap(),
            "http://127.0.0.1:8080/mcp"
        );
        assert_eq!(
            canonicalize("http://mcp.example.com/mcp"),
            Err(ResourceUriError::Scheme)
        );
        assert_eq!(
            canonicalize("https://mcp.example.com/mcp#x"),
            Err(ResourceUriError::Fragment)
        );
        assert_eq!(canonicalize("mcp"), Err(ResourceUriError::NotAbsolute));
        assert_eq!(
            canonicalize("https://u:p@mcp.example.com/"),
            Err(ResourceUriError::UserInfo)
        );
    }

    #[test]
    fn tolerant_match() {
        let reg = "https://mcp.example.com/mcp";
        assert!(matches("https://mcp.example.com/mcp/", reg));
        assert!(matches("https://MCP.example.com:443/mcp", reg));
        assert!(matches("https://mcp.example.com/mcp", reg));
        assert!(!matches("https://mcp.example.com/other", reg));
        assert!(!matches("https://mcp.example.com/mcp#frag", reg));
        assert!(!matches("not a url", reg));
        assert!(matches("https://a.example", "https://a.example/"));
    }
}
