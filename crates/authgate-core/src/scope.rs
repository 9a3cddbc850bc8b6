//! Scopes: parsing (RFC 6749 §3.3), implications (a broader scope satisfies
//! a narrower one) and negotiation against what a resource defines and a
//! client may have.

use crate::error::OAuthError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A scope a resource (MCP server) defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Scopes this one implies, e.g. `weather:write` implies `weather:read`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub implies: Vec<String>,
}

/// OpenID Connect scopes understood by every resource.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Parses a space-delimited scope string. Every token must be a valid
/// scope-token (NQCHAR); duplicates collapse; order is kept.
pub fn parse(s: &str) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for tok in s.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(tok) {
            return Err(OAuthError::invalid_scope(format!(
                "scope {tok:?} contains characters not allowed in a scope"
            )));
        }
        if !out.iter().any(|x| x == tok) {
            out.push(tok.to_owned());
        }
    }
    Ok(out)
}

/// Validates a scope name (used for registration of resource scopes).
pub fn is_scope_token(tok: &str) -> bool {
    !tok.is_empty()
        && tok.len() <= 200
        && tok
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// The set of scopes `granted` covers, following implications transitively.
pub fn expand(granted: &[String], defs: &[ScopeDef]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = granted.to_vec();
    while let Some(s) = stack.pop() {
        if out.insert(s.clone())
            && let Some(d) = defs.iter().find(|d| d.name == s)
        {
            stack.extend(d.implies.iter().cloned());
        }
    }
    out
}

/// Does `granted` (with implications) cover every scope in `required`?
pub fn satisfies(granted: &[String], required: &[String], defs: &[ScopeDef]) -> bool {
    let e = expand(granted, defs);
    required.iter().all(|r| e.contains(r))
}

/// Negotiation at /authorize (tolerant): scopes the resource does not define
/// and the client may not have are dropped rather than fatal; OIDC scopes
/// pass through; when nothing usable is asked, the resource's defaults.
pub fn negotiate_tolerant(
    requested: &[String],
    defs: &[ScopeDef],
    defaults: &[String],
    client_allowed: Option<&[String]>,
) -> Vec<String> {
    let allowed = |s: &String| {
        OIDC_SCOPES.contains(&s.as_str())
            || (defs.iter().any(|d| &d.name == s)
                && client_allowed.is_none_or(|a| a.iter().any(|x| x == s)))
    };
    let mut out: Vec<String> = requested.iter().filter(|s| allowed(s)).cloned().collect();
    if !out.iter().any(|s| !OIDC_SCOPES.contains(&s.as_str())) {
        for d in defaults {
            if client_allowed.is_none_or(|a| a.iter().any(|x| x == d)) && !out.contains(d) {
                out.push(d.clone());
            }
        }
    }
    out
}

/// Negotiation for machine clients (client credentials): every requested
/// scope must be defined by the resource and allowed to the client, else
/// `invalid_scope`. Nothing asked means the resource's defaults that the
/// client may have.
pub fn negotiate_strict(
    requested: &[String],
    defs: &[ScopeDef],
    defaults: &[String],
    client_allowed: Option<&[String]>,
) -> Result<Vec<String>, OAuthError> {
    let may = |s: &str| client_allowed.is_none_or(|a| a.iter().any(|x| x == s));
    if requested.is_empty() {
        return Ok(defaults.iter().filter(|d| may(d)).cloned().collect());
    }
    for s in requested {
        if !defs.iter().any(|d| &d.name == s) {
            return Err(OAuthError::invalid_scope(format!(
                "scope {s:?} is not defined by this resource"
            )));
        }
        if !may(s) {
            return Err(OAuthError::invalid_scope(format!(
                "client may not request scope {s:?}"
            )));
        }
    }
    Ok(requested.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<ScopeDef> {
        vec![
            ScopeDef {
                name: "weather:read".into(),
                description: "Read forecasts".into(),
                implies: vec![],
            },
            ScopeDef {
                name: "weather:write".into(),
                description: "Change alerts".into(),
                implies: vec!["weather:read".into()],
            },
            ScopeDef {
                name: "weather:admin".into(),
                description: "All".into(),
                implies: vec!["weather:write".into()],
            },
        ]
    }
    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parse_rules() {
        assert_eq!(parse("a  b a").unwrap(), v(&["a", "b"]));
        assert!(parse("a\"b").is_err());
        assert!(parse("a\\b").is_err());
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn implications_are_transitive() {
        assert!(satisfies(
            &v(&["weather:admin"]),
            &v(&["weather:read"]),
            &defs()
        ));
        assert!(!satisfies(
            &v(&["weather:read"]),
            &v(&["weather:write"]),
            &defs()
        ));
    }

    #[test]
    fn tolerant_drops_unknown_and_uses_defaults() {
        let d = defs();
        let got = negotiate_tolerant(&v(&["openid", "bogus"]), &d, &v(&["weather:read"]), None);
        assert_eq!(got, v(&["openid", "weather:read"]));
        let got = negotiate_tolerant(&v(&["weather:write"]), &d, &v(&["weather:read"]), None);
        assert_eq!(got, v(&["weather:write"]));
        let allowed = v(&["weather:read"]);
        let got = negotiate_tolerant(&v(&["weather:write"]), &d, &v(&[]), Some(&allowed));
        assert!(got.is_empty());
    }

    #[test]
    fn strict_refuses_unknown_or_disallowed() {
        let d = defs();
        assert!(negotiate_strict(&v(&["nope"]), &d, &[], None).is_err());
        let allowed = v(&["weather:read"]);
        assert!(negotiate_strict(&v(&["weather:write"]), &d, &[], Some(&allowed)).is_err());
        assert_eq!(
            negotiate_strict(
                &[],
                &d,
                &v(&["weather:read", "weather:write"]),
                Some(&allowed)
            )
            .unwrap(),
            v(&["weather:read"])
        );
    }
}
