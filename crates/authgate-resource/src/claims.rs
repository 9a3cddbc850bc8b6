//! The validated claims of an access token, and scope implications.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

/// The claims of a validated access token (RFC 9068 §2.2).
///
/// Built only by the [`Validator`](crate::Validator); handed out behind an
/// `Arc` so the cached path costs no copy.
#[derive(Clone, PartialEq)]
pub struct Claims {
    /// The resource owner (a user id), or the client for client credentials.
    pub sub: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The scopes the token grants, in the order the `scope` claim lists them.
    pub scopes: Vec<String>,
    /// The audiences (`aud` as a string becomes one element).
    pub aud: Vec<String>,
    /// The issuer, equal to the configured issuer.
    pub iss: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Not-before, seconds since the epoch, when present.
    pub nbf: Option<i64>,
    /// The token id, when present.
    pub jti: Option<String>,
    /// Every other claim (`auth_time`, `gid`, `act`, …), as sent.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The validator's implications (shared, so building claims costs no
    /// expansion; `has_scope` consults them).
    implications: Arc<ScopeImplications>,
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("aud", &self.aud)
            .field("iss", &self.iss)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

impl Claims {
    /// Whether the token grants `scope`, directly or through a configured
    /// implication (e.g. `weather:write` ⇒ `weather:read`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .iter()
            .any(|g| g == scope || self.implications.implies(g, scope))
    }

    /// Whether the token grants every scope in `required`.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        required.iter().all(|s| self.has_scope(s.as_ref()))
    }

    /// The scopes the token grants, implied ones included, sorted.
    pub fn effective_scopes(&self) -> Vec<String> {
        self.implications.expand(&self.scopes)
    }

    /// The `scope` value of an `insufficient_scope` challenge: what the token
    /// already has, then what is still needed, space separated.
    pub fn scope_union<S: AsRef<str>>(&self, required: &[S]) -> String {
        let mut out = self.scopes.join(" ");
        for r in required {
            let r = r.as_ref();
            if !self.scopes.iter().any(|s| s == r) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(r);
            }
        }
        out
    }

    /// How the person signed in: RFC 8176 method references such as `pwd`,
    /// `otp`, `hwk`, `mfa` (the `amr` claim), in the order used. Empty for
    /// client credentials and for tokens that do not say.
    pub fn amr(&self) -> Vec<&str> {
        match self.extra.get("amr") {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the person signed in with more than one factor (`mfa` in
    /// `amr`), e.g. to require it for a sensitive tool.
    pub fn is_multi_factor(&self) -> bool {
        self.amr().contains(&"mfa")
    }

    /// The upstream identity provider connection the person signed in
    /// through (the `idp` claim), if any.
    pub fn idp(&self) -> Option<&str> {
        self.extra.get("idp").and_then(|v| v.as_str())
    }

    /// The organization the person signed in as a member of (the `org_id`
    /// claim), if any.
    pub fn org_id(&self) -> Option<&str> {
        self.extra.get("org_id").and_then(|v| v.as_str())
    }

    /// Builds claims by hand, e.g. for a unit test of a tool that takes
    /// claims. The validator is the only source of trusted claims.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        iss: impl Into<String>,
        sub: impl Into<String>,
        client_id: impl Into<String>,
        aud: impl Into<String>,
        scopes: Vec<String>,
        iat: i64,
        exp: i64,
        implications: &ScopeImplications,
    ) -> Self {
        Self {
            sub: sub.into(),
            client_id: client_id.into(),
            scopes,
            aud: vec![aud.into()],
            iss: iss.into(),
            exp,
            iat,
            nbf: None,
            jti: None,
            extra: serde_json::Map::new(),
            implications: Arc::new(implications.clone()),
        }
    }

    pub(crate) fn from_raw(raw: RawClaims, implications: &Arc<ScopeImplications>) -> Option<Self> {
        Some(Self {
            sub: raw.sub?,
            client_id: raw.client_id?,
            scopes: raw.scopes,
            aud: raw.aud?,
            iss: raw.iss?,
            exp: raw.exp?,
            iat: raw.iat?,
            nbf: raw.nbf,
            jti: raw.jti,
            extra: raw.extra,
            implications: implications.clone(),
        })
    }
}

/// Scope implications: a broader scope satisfies narrower ones
/// (MCP 2026-07-28 scope hierarchies). Implications are transitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeImplications {
    /// scope → everything it implies (transitively closed).
    closure: HashMap<String, Vec<String>>,
}

impl ScopeImplications {
    /// No implications.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that `scope` implies each of `implied`.
    pub fn add<I, S>(&mut self, scope: impl Into<String>, implied: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entry = self.closure.entry(scope.into()).or_default();
        entry.extend(implied.into_iter().map(Into::into));
        self.close();
    }

    /// Recomputes the transitive closure (sizes are tiny).
    fn close(&mut self) {
        let direct = self.closure.clone();
        for (scope, implied) in self.closure.iter_mut() {
            let mut seen: BTreeSet<String> = BTreeSet::new();
            let mut stack: Vec<&String> = implied.iter().collect();
            while let Some(s) = stack.pop() {
                if s != scope
                    && seen.insert(s.clone())
                    && let Some(next) = direct.get(s)
                {
                    stack.extend(next.iter());
                }
            }
            *implied = seen.into_iter().collect();
        }
    }

    /// Whether no implication is configured.
    pub fn is_empty(&self) -> bool {
        self.closure.is_empty()
    }

    /// Whether `granted` implies `scope`.
    pub fn implies(&self, granted: &str, scope: &str) -> bool {
        self.closure
            .get(granted)
            .is_some_and(|implied| implied.iter().any(|s| s == scope))
    }

    /// `granted` plus everything it implies, sorted and deduplicated.
    pub(crate) fn expand(&self, granted: &[String]) -> Vec<String> {
        let mut all: Vec<String> = granted.to_vec();
        for g in granted {
            if let Some(implied) = self.closure.get(g) {
                all.extend(implied.iter().cloned());
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Claims as they come out of the JSON payload, before required ones are
/// checked. Deserialized by hand so unknown claims go to `extra` without
/// serde's slow `flatten` buffering, and duplicated claims are refused.
#[derive(Default)]
pub(crate) struct RawClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub aud: Option<Vec<String>>,
    pub scopes: Vec<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Introspection responses: `active`.
    pub active: Option<bool>,
}

/// A map key borrowed from the input when it has no escapes.
enum Key<'de> {
    B(&'de str),
    O(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::B(s) => s,
            Key::O(s) => s,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key::B(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key::O(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A NumericDate: integer or (rarely) fractional seconds.
struct NumericDate(i64);

impl<'de> de::Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("seconds since the epoch")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| E::custom("date out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.is_finite() && v.abs() < 1e15 {
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("date out of range"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A string, or an array of strings (`aud`), or a space-separated string
/// (`scope`, when `split` is set).
struct StringOrArray<const SPLIT: bool>(Vec<String>);

impl<'de, const SPLIT: bool> de::Deserialize<'de> for StringOrArray<SPLIT> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const SPLIT: bool>;
        impl<'de, const SPLIT: bool> Visitor<'de> for V<SPLIT> {
            type Value = StringOrArray<SPLIT>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrArray(if SPLIT {
                    v.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                } else {
                    vec![v.to_owned()]
                }))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringOrArray(out))
            }
        }
        d.deserialize_any(V::<SPLIT>)
    }
}

fn set<T, E: de::Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(v);
    Ok(())
}

impl<'de> de::Deserialize<'de> for RawClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawClaims;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
                let mut c = RawClaims::default();
                let mut scope_seen = false;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "iss" => set(&mut c.iss, map.next_value()?, "iss")?,
                        "sub" => set(&mut c.sub, map.next_value()?, "sub")?,
                        "client_id" => set(&mut c.client_id, map.next_value()?, "client_id")?,
                        "jti" => set(&mut c.jti, map.next_value()?, "jti")?,
                        "aud" => {
                            let StringOrArray::<false>(v) = map.next_value()?;
                            set(&mut c.aud, v, "aud")?
                        }
                        "scope" => {
                            if std::mem::replace(&mut scope_seen, true) {
                                return Err(de::Error::duplicate_field("scope"));
                            }
                            let StringOrArray::<true>(v) = map.next_value()?;
                            c.scopes = v;
                        }
                        "exp" => set(&mut c.exp, map.next_value::<NumericDate>()?.0, "exp")?,
                        "iat" => set(&mut c.iat, map.next_value::<NumericDate>()?.0, "iat")?,
                        "nbf" => set(&mut c.nbf, map.next_value::<NumericDate>()?.0, "nbf")?,
                        "active" => set(&mut c.active, map.next_value()?, "active")?,
                        _ => {
                            let v: serde_json::Value = map.next_value()?;
                            let k = match key {
                                Key::B(s) => s.to_owned(),
                                Key::O(s) => s,
                            };
                            c.extra.insert(k, v);
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RawClaims, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn parses_string_and_array_forms() {
        let c = parse(r#"{"iss":"i","sub":"s","client_id":"c","aud":["a","b"],"scope":"x  y","exp":5.7,"iat":1,"gid":"g"}"#).unwrap();
        assert_eq!(
            c.aud.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(c.scopes, vec!["x", "y"]);
        assert_eq!(c.exp, Some(5));
        assert_eq!(c.extra["gid"], "g");
        let c = parse(r#"{"aud":"a","scope":["p","q"]}"#).unwrap();
        assert_eq!(c.aud.unwrap(), vec!["a"]);
        assert_eq!(c.scopes, vec!["p", "q"]);
    }

    #[test]
    fn refuses_duplicates_and_wrong_types() {
        assert!(parse(r#"{"iss":"a","iss":"b"}"#).is_err());
        assert!(parse(r#"{"scope":"a","scope":"b"}"#).is_err());
        assert!(parse(r#"{"exp":"soon"}"#).is_err());
        assert!(parse(r#"{"sub":1}"#).is_err());
        assert!(parse(r#"[1]"#).is_err());
        assert!(parse(r#"{"exp":1e300}"#).is_err());
    }

    #[test]
    fn implications_are_transitive() {
        let mut imp = ScopeImplications::new();
        imp.add("admin", ["write"]);
        imp.add("write", ["read"]);
        let c = Claims::new("i", "s", "c", "a", vec!["admin".into()], 0, 1, &imp);
        assert!(c.has_scope("admin") && c.has_scope("write") && c.has_scope("read"));
        assert!(!c.has_scope("other"));
        assert_eq!(c.effective_scopes(), ["admin", "read", "write"]);
        assert_eq!(c.scope_union(&["read", "admin", "x"]), "admin read x");
        let c = Claims::new("i", "s", "c", "a", vec!["read".into()], 0, 1, &imp);
        assert!(!c.has_scope("write"));
    }

    #[test]
    fn sign_in_context_accessors() {
        let imp = ScopeImplications::new();
        let mut c = Claims::new("i", "s", "c", "a", vec![], 0, 1, &imp);
        assert!(c.amr().is_empty());
        assert!(!c.is_multi_factor());
        assert_eq!((c.idp(), c.org_id()), (None, None));
        c.extra
            .insert("amr".into(), serde_json::json!(["pwd", "otp", "mfa"]));
        c.extra.insert("idp".into(), serde_json::json!("okta"));
        c.extra.insert("org_id".into(), serde_json::json!("org_1"));
        assert_eq!(c.amr(), vec!["pwd", "otp", "mfa"]);
        assert!(c.is_multi_factor());
        assert_eq!((c.idp(), c.org_id()), (Some("okta"), Some("org_1")));
        // A malformed claim reads as absent, never as a factor.
        c.extra.insert("amr".into(), serde_json::json!("mfa"));
        c.extra.insert("org_id".into(), serde_json::json!(7));
        assert!(c.amr().is_empty() && !c.is_multi_factor());
        assert_eq!(c.org_id(), None);
    }
}
