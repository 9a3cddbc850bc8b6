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

/// The client's ceiling (issue 17): the scopes it registered (RFC 7591
/// `scope` for dynamic and metadata document clients, `allowed_scopes` for
/// pre-registered ones) cap every grant. A scope is within the ceiling
/// when the ceiling, with implications, covers it (a client that
/// registered `weather:write` may ask for `weather:read`). OpenID Connect
/// scopes are about the person at authgate, not about an MCP server, and
/// are not capped. `None`: the client registered no ceiling.
pub fn within_ceiling(s: &str, ceiling: Option<&BTreeSet<String>>) -> bool {
    OIDC_SCOPES.contains(&s) || ceiling.is_none_or(|c| c.contains(s))
}

/// The ceiling as the set of scopes it covers (implications followed).
pub fn ceiling_set(ceiling: Option<&[String]>, defs: &[ScopeDef]) -> Option<BTreeSet<String>> {
    ceiling.map(|c| expand(c, defs))
}

/// Refuses, with `invalid_scope`, any of `scopes` beyond the client's
/// ceiling. Used where scopes were decided earlier (a code, a refresh
/// token): the client's registration may have narrowed since.
pub fn check_ceiling(
    scopes: &[String],
    defs: &[ScopeDef],
    ceiling: Option<&[String]>,
) -> Result<(), OAuthError> {
    let cap = ceiling_set(ceiling, defs);
    match scopes.iter().find(|s| !within_ceiling(s, cap.as_ref())) {
        Some(s) => Err(beyond_ceiling(s)),
        None => Ok(()),
    }
}

fn beyond_ceiling(s: &str) -> OAuthError {
    OAuthError::invalid_scope(format!(
        "scope {s:?} is beyond the scope this client registered"
    ))
}

/// What to do with a requested scope the resource does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownScopes {
    /// Drop it (at /authorize: MCP clients pass along scopes from several
    /// servers' challenges; RFC 6749 §3.3 lets the server ignore them).
    Drop,
    /// Refuse with `invalid_scope` (client credentials: a machine client
    /// should learn at once that it asked for something that is not there).
    Refuse,
}

/// Scope negotiation for every grant that picks scopes (/authorize,
/// client credentials). A scope beyond the client's ceiling is always
/// `invalid_scope`: the stricter of the choices RFC 6749 §3.3 allows, so a
/// client learns it asked for more than it registered instead of silently
/// holding less than it thinks. Unknown scopes follow `unknown`; OIDC
/// scopes pass through. When no resource scope is asked, the resource's
/// defaults that lie within the ceiling.
pub fn negotiate(
    requested: &[String],
    defs: &[ScopeDef],
    defaults: &[String],
    ceiling: Option<&[String]>,
    unknown: UnknownScopes,
) -> Result<Vec<String>, OAuthError> {
    let cap = ceiling_set(ceiling, defs);
    let mut out: Vec<String> = Vec::new();
    for s in requested {
        let oidc = OIDC_SCOPES.contains(&s.as_str());
        if !oidc && !defs.iter().any(|d| &d.name == s) {
            match unknown {
                UnknownScopes::Drop => continue,
                UnknownScopes::Refuse => {
                    return Err(OAuthError::invalid_scope(format!(
                        "scope {s:?} is not defined by this resource"
                    )));
                }
            }
        }
        if !within_ceiling(s, cap.as_ref()) {
            return Err(beyond_ceiling(s));
        }
        out.push(s.clone());
    }
    if !out.iter().any(|s| !OIDC_SCOPES.contains(&s.as_str())) {
        for d in defaults {
            if within_ceiling(d, cap.as_ref()) && !out.contains(d) {
                out.push(d.clone());
            }
        }
    }
    Ok(out)
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
    fn authorize_drops_unknown_and_uses_defaults() {
        let d = defs();
        let read = v(&["weather:read"]);
        let got = negotiate(
            &v(&["openid", "bogus"]),
            &d,
            &read,
            None,
            UnknownScopes::Drop,
        );
        assert_eq!(got.unwrap(), v(&["openid", "weather:read"]));
        let got = negotiate(&v(&["weather:write"]), &d, &read, None, UnknownScopes::Drop);
        assert_eq!(got.unwrap(), v(&["weather:write"]));
    }

    #[test]
    fn beyond_the_ceiling_is_refused_everywhere() {
        let d = defs();
        let read = v(&["weather:read"]);
        for unknown in [UnknownScopes::Drop, UnknownScopes::Refuse] {
            let e = negotiate(&v(&["weather:write"]), &d, &[], Some(&read), unknown).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidScope);
        }
        assert!(check_ceiling(&v(&["weather:write"]), &d, Some(&read)).is_err());
        // OIDC scopes are not capped; implied scopes are within.
        let write = v(&["weather:write"]);
        assert!(check_ceiling(&v(&["openid", "weather:read"]), &d, Some(&write)).is_ok());
    }

    #[test]
    fn defaults_are_cut_to_the_ceiling() {
        let d = defs();
        let read = v(&["weather:read"]);
        let got = negotiate(
            &[],
            &d,
            &v(&["weather:read", "weather:write"]),
            Some(&read),
            UnknownScopes::Refuse,
        );
        assert_eq!(got.unwrap(), read);
        let got = negotiate(
            &v(&["openid"]),
            &d,
            &v(&["weather:write"]),
            Some(&read),
            UnknownScopes::Drop,
        );
        assert_eq!(got.unwrap(), v(&["openid"]));
    }

    #[test]
    fn machine_clients_are_refused_unknown_scopes() {
        let d = defs();
        assert!(negotiate(&v(&["nope"]), &d, &[], None, UnknownScopes::Refuse).is_err());
    }
}
