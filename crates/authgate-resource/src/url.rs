//! Resource URLs: the tolerant audience comparison and the RFC 9728
//! metadata location.

use crate::error::ConfigError;

/// `https://Host:443/mcp/` → `https://host/mcp`: lowercase scheme and host
/// (done by the URL parser), no default port, one trailing slash dropped.
/// `None` for anything that is not an absolute http(s) URL usable as a
/// resource (fragment or userinfo present).
pub(crate) fn canonical(s: &str) -> Option<String> {
    let u = url::Url::parse(s).ok()?;
    if !matches!(u.scheme(), "http" | "https")
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return None;
    }
    let host = u.host_str()?;
    let mut out = String::with_capacity(s.len());
    out.push_str(u.scheme());
    out.push_str("://");
    out.push_str(host);
    if let Some(p) = u.port() {
        out.push(':');
        out.push_str(&p.to_string());
    }
    let path = u.path();
    out.push_str(path.strip_suffix('/').unwrap_or(path));
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// The resource's identity: the configured string (byte for byte) and its
/// canonical form for tolerant comparison.
#[derive(Debug, Clone)]
pub(crate) struct ResourceUrl {
    pub exact: String,
    canonical: String,
    /// `/mcp` for `https://h/mcp`, empty for `https://h` or `https://h/`.
    pub path: String,
    /// `https://h` (scheme, host, non-default port).
    pub origin: String,
    pub query: Option<String>,
}

impl ResourceUrl {
    pub fn parse(s: &str, what: &'static str) -> Result<Self, ConfigError> {
        let canonical = canonical(s).ok_or(ConfigError::InvalidUrl(what))?;
        let u = url::Url::parse(s).map_err(|_| ConfigError::InvalidUrl(what))?;
        let path = u.path();
        Ok(Self {
            exact: s.to_owned(),
            canonical,
            path: path.strip_suffix('/').unwrap_or(path).to_owned(),
            origin: u.origin().ascii_serialization(),
            query: u.query().map(str::to_owned),
        })
    }

    /// Whether an `aud` value names this resource. The byte-equal case
    /// costs one comparison; anything else is parsed.
    pub fn matches(&self, aud: &str) -> bool {
        aud == self.exact || canonical(aud).is_some_and(|c| c == self.canonical)
    }

    /// The path of the metadata document, path-inserted (RFC 9728 §3.1).
    pub fn metadata_path(&self) -> String {
        format!("{}{}", crate::METADATA_WELL_KNOWN, self.path)
    }

    /// The absolute URL of the metadata document.
    pub fn metadata_url(&self) -> String {
        let mut s = format!("{}{}", self.origin, self.metadata_path());
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s
    }
}

/// Whether `s` is an absolute http(s) URL (for optional metadata fields,
/// which strict clients reject when invalid).
pub(crate) fn is_absolute_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_audience() {
        let r = ResourceUrl::parse("https://mcp.example.com/mcp", "resource").unwrap();
        for ok in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/mcp/",
            "HTTPS://MCP.Example.COM/mcp",
            "https://mcp.example.com:443/mcp",
        ] {
            assert!(r.matches(ok), "{ok}");
        }
        for bad in [
            "https://mcp.example.com/MCP",
            "https://mcp.example.com/mcp//",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://mcp.example.com/mcp/x",
            "https://mcp.example.com",
            "https://evil.example/mcp",
            "https://u@mcp.example.com/mcp",
            "https://mcp.example.com/mcp#f",
            "mcp.example.com/mcp",
            "",
        ] {
            assert!(!r.matches(bad), "{bad}");
        }
        let root = ResourceUrl::parse("http://127.0.0.1:3000", "resource").unwrap();
        assert!(root.matches("http://127.0.0.1:3000/"));
        assert_eq!(
            root.metadata_url(),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            r.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let slash = ResourceUrl::parse("https://h/mcp/", "resource").unwrap();
        assert_eq!(
            slash.metadata_path(),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert!(ResourceUrl::parse("https://h/mcp#x", "resource").is_err());
        assert!(ResourceUrl::parse("ftp://h/mcp", "resource").is_err());
    }
}
