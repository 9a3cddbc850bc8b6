//! Configuration: defaults, then a TOML file, then `AUTHGATE_GATEWAY_…`
//! environment variables, then flags (the same layering as `authgate
//! serve`). Every error names the key at fault.

use crate::policy::{Policy, ToolRule, UnknownTools};
use figment2::Figment;
use figment2::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration error naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("gateway configuration error: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The gateway's configuration, as written in `gateway.toml` (or the
/// `[gateway]` table of authgate's own configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Listen address of the gateway.
    pub listen: String,
    /// The gateway's ES256 key (PKCS#8 PEM) for caller assertions;
    /// generated (mode 0600) when missing.
    pub signing_key_file: PathBuf,
    /// Audit rows as JSON lines: `-` = stdout, or a file path.
    pub audit_log: String,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Time allowed for the upstream's response headers. A stream that
    /// flows is never cut.
    pub upstream_timeout_ms: u64,
    /// How long streams may drain after SIGTERM before they are cut.
    pub shutdown_grace_ms: u64,
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8090".into(),
            signing_key_file: "gateway-data/signing-key.pem".into(),
            audit_log: "-".into(),
            max_body_bytes: 1024 * 1024,
            upstream_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
            upstreams: Vec::new(),
        }
    }
}

/// One protected MCP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub name: String,
    /// The URL clients use (the tokens' `aud`); the gateway serves its path.
    pub public_url: String,
    /// Where the MCP server really listens.
    pub upstream_url: String,
    /// The authorization server's issuer identifier.
    pub issuer: String,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Scope implications, as the authorization server declares them:
    /// `{ "weather:write" = ["weather:read"] }` lets a `weather:write`
    /// token call what needs `weather:read`.
    #[serde(default)]
    pub scope_implies: std::collections::BTreeMap<String, Vec<String>>,
    /// `deny`, or the scope a tool without a rule needs.
    #[serde(default = "default_unknown")]
    pub unknown_tools: String,
    /// `hide` (lists show what the token may call) or `show`.
    #[serde(default = "default_list_filter")]
    pub list_filter: String,
    /// Tool rules in a separate file, hot reloaded (instead of `tools`).
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    #[serde(default)]
    pub tools: Vec<ToolRuleConfig>,
}

fn default_unknown() -> String {
    "deny".into()
}

fn default_list_filter() -> String {
    "hide".into()
}

/// A `[[upstreams.tools]]` rule (also the `[[tools]]` of a policy file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRuleConfig {
    /// A tool name; `*` matches any run of characters.
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Put the call's arguments into its audit row.
    #[serde(default)]
    pub log_arguments: bool,
}

/// A policy file: `unknown_tools` (optional) and `[[tools]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub unknown_tools: Option<String>,
    #[serde(default)]
    pub tools: Vec<ToolRuleConfig>,
}

/// Whether lists are filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    Hide,
    Show,
}

/// A checked upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub public_url: url::Url,
    pub upstream_url: url::Url,
    pub issuer: String,
    pub scopes_supported: Vec<String>,
    pub scope_implies: std::collections::BTreeMap<String, Vec<String>>,
    pub list_filter: ListFilter,
    pub policy_file: Option<PathBuf>,
    /// The policy from the configuration (or the policy file at start).
    pub policy: Policy,
    /// The `unknown_tools` of the main configuration (a policy file may
    /// override it).
    pub unknown_tools: UnknownTools,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub signing_key_file: PathBuf,
    pub audit_log: String,
    pub max_body_bytes: usize,
    pub upstream_timeout: std::time::Duration,
    pub shutdown_grace: std::time::Duration,
    pub upstreams: Vec<Upstream>,
}

fn figment_error(e: figment2::Error) -> ConfigError {
    let key = e.path.join(".");
    let key = if key.is_empty() { "config".into() } else { key };
    let mut reason = e.kind.to_string();
    if let Some(m) = e.metadata.as_ref() {
        reason.push_str(&format!(" (from {})", m.name));
    }
    ConfigError::new(key, reason)
}

/// Loads `gateway.toml` (when given), the environment, then `listen`
/// from the command line.
pub fn load(file: Option<&Path>, listen: Option<&str>) -> Result<Settings, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(GatewayConfig::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::new(
                "--config",
                format!("file {} does not exist", path.display()),
            ));
        }
        fig = fig.merge(Toml::file(path));
    }
    // `AUTHGATE_GATEWAY_CONFIG` names the file, it is not a key.
    fig = fig.merge(
        Env::prefixed("AUTHGATE_GATEWAY_")
            .ignore(&["config"])
            .split("__"),
    );
    if let Some(l) = listen {
        fig = fig.merge(Serialized::default("listen", l));
    }
    let raw: GatewayConfig = fig.extract().map_err(figment_error)?;
    // Relative paths are taken from the working directory, as in
    // authgate's own configuration.
    validate(raw, None)
}

/// Checks a `[gateway]` table given as a JSON value (how `authgate serve`
/// passes its own configuration's table on); relative paths are taken
/// from `base`.
pub fn from_value(value: serde_json::Value, base: Option<&Path>) -> Result<Settings, ConfigError> {
    let fig = Figment::from(Serialized::defaults(GatewayConfig::default()))
        .merge(Serialized::defaults(value));
    let raw: GatewayConfig = fig.extract().map_err(figment_error)?;
    validate(raw, base)
}

fn http_url(key: &str, s: &str) -> Result<url::Url, ConfigError> {
    let u = url::Url::parse(s)
        .map_err(|e| ConfigError::new(key, format!("{s:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(ConfigError::new(
            key,
            format!("{s:?} must be an absolute http(s) URL"),
        ));
    }
    if u.fragment().is_some() {
        return Err(ConfigError::new(key, "must not have a #fragment"));
    }
    Ok(u)
}

/// Parses `unknown_tools`: `deny` or one scope.
pub fn parse_unknown(key: &str, s: &str) -> Result<UnknownTools, ConfigError> {
    match s {
        "deny" => Ok(UnknownTools::Deny),
        s if is_scope_token(s) => Ok(UnknownTools::Scope(s.to_owned())),
        _ => Err(ConfigError::new(
            key,
            format!("{s:?} must be \"deny\" or one scope name"),
        )),
    }
}

/// RFC 6749 scope-token characters.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Checks tool rules (`key` prefixes the key names in errors).
pub fn rules(key: &str, tools: &[ToolRuleConfig]) -> Result<Vec<ToolRule>, ConfigError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        if t.name.is_empty() {
            return Err(ConfigError::new(
                format!("{key}[{i}].name"),
                "must not be empty",
            ));
        }
        if let Some(s) = t.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(ConfigError::new(
                format!("{key}[{i}].scopes"),
                format!("{s:?} is not a valid scope name"),
            ));
        }
        out.push(ToolRule {
            pattern: t.name.clone(),
            scopes: t.scopes.clone(),
            log_arguments: t.log_arguments,
        });
    }
    Ok(out)
}

/// Reads and checks a policy file.
pub fn read_policy_file(
    path: &Path,
    default_unknown: &UnknownTools,
) -> Result<Policy, ConfigError> {
    let key = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&key, format!("cannot read: {e}")))?;
    let file: PolicyFile = Figment::from(Toml::string(&text)).extract().map_err(|e| {
        let mut e = figment_error(e);
        e.key = format!("{key}: {}", e.key);
        e
    })?;
    let unknown = match &file.unknown_tools {
        Some(s) => parse_unknown(&format!("{key}: unknown_tools"), s)?,
        None => default_unknown.clone(),
    };
    Ok(Policy::new(
        rules(&format!("{key}: tools"), &file.tools)?,
        unknown,
    ))
}

fn validate(raw: GatewayConfig, base: Option<&Path>) -> Result<Settings, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::new(
            "listen",
            format!("{:?} is not an address like 127.0.0.1:8090", raw.listen),
        )
    })?;
    if raw.max_body_bytes == 0 {
        return Err(ConfigError::new("max_body_bytes", "must be more than 0"));
    }
    if raw.upstream_timeout_ms == 0 {
        return Err(ConfigError::new(
            "upstream_timeout_ms",
            "must be more than 0",
        ));
    }
    if raw.upstreams.is_empty() {
        return Err(ConfigError::new(
            "upstreams",
            "no [[upstreams]]: the gateway has nothing to protect",
        ));
    }
    let resolve = |p: &Path| match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    };
    let mut upstreams: Vec<Upstream> = Vec::new();
    for (i, u) in raw.upstreams.iter().enumerate() {
        let k = |f: &str| format!("upstreams[{i}].{f}");
        if u.name.is_empty() || !u.name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                k("name"),
                "must be a non-empty name without spaces",
            ));
        }
        let public_url = http_url(&k("public_url"), &u.public_url)?;
        if public_url.query().is_some() {
            return Err(ConfigError::new(k("public_url"), "must not have a query"));
        }
        let upstream_url = http_url(&k("upstream_url"), &u.upstream_url)?;
        if upstream_url.scheme() != "http" {
            return Err(ConfigError::new(
                k("upstream_url"),
                "only http:// upstreams are supported (keep the MCP server on a private network or loopback)",
            ));
        }
        http_url(&k("issuer"), &u.issuer)?;
        if let Some(s) = u.scopes_supported.iter().find(|s| !is_scope_token(s)) {
            return Err(ConfigError::new(
                k("scopes_supported"),
                format!("{s:?} is not a valid scope name"),
            ));
        }
        for (scope, implied) in &u.scope_implies {
            if let Some(s) = std::iter::once(scope)
                .chain(implied)
                .find(|s| !is_scope_token(s))
            {
                return Err(ConfigError::new(
                    k("scope_implies"),
                    format!("{s:?} is not a valid scope name"),
                ));
            }
        }
        let list_filter = match u.list_filter.as_str() {
            "hide" => ListFilter::Hide,
            "show" => ListFilter::Show,
            other => {
                return Err(ConfigError::new(
                    k("list_filter"),
                    format!("{other:?} must be \"hide\" or \"show\""),
                ));
            }
        };
        let unknown_tools = parse_unknown(&k("unknown_tools"), &u.unknown_tools)?;
        let policy_file = u.policy_file.as_deref().map(resolve);
        let policy = match &policy_file {
            Some(p) => {
                if !u.tools.is_empty() {
                    return Err(ConfigError::new(
                        k("tools"),
                        "give the tool rules either inline or in policy_file, not both",
                    ));
                }
                read_policy_file(p, &unknown_tools)
                    .map_err(|e| ConfigError::new(k("policy_file"), e.to_string()))?
            }
            None => Policy::new(rules(&k("tools"), &u.tools)?, unknown_tools.clone()),
        };
        let path = public_url.path().trim_end_matches('/');
        if upstreams
            .iter()
            .any(|o| o.public_url.path().trim_end_matches('/') == path)
        {
            return Err(ConfigError::new(
                k("public_url"),
                "another upstream already uses this path",
            ));
        }
        if upstreams.iter().any(|o| o.name == u.name) {
            return Err(ConfigError::new(k("name"), "names must be unique"));
        }
        upstreams.push(Upstream {
            name: u.name.clone(),
            public_url,
            upstream_url,
            issuer: u.issuer.clone(),
            scopes_supported: u.scopes_supported.clone(),
            scope_implies: u.scope_implies.clone(),
            list_filter,
            policy_file,
            policy,
            unknown_tools,
        });
    }
    Ok(Settings {
        listen,
        signing_key_file: resolve(&raw.signing_key_file),
        audit_log: if raw.audit_log == "-" {
            raw.audit_log
        } else {
            resolve(Path::new(&raw.audit_log)).display().to_string()
        },
        max_body_bytes: raw.max_body_bytes,
        upstream_timeout: std::time::Duration::from_millis(raw.upstream_timeout_ms),
        shutdown_grace: std::time::Duration::from_millis(raw.shutdown_grace_ms),
        upstreams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(extra: serde_json::Value) -> serde_json::Value {
        let mut up = serde_json::json!({
            "name": "weather",
            "public_url": "http://127.0.0.1:8090/weather/mcp",
            "upstream_url": "http://127.0.0.1:3000/mcp",
            "issuer": "http://127.0.0.1:8080",
        });
        if let (Some(u), Some(e)) = (up.as_object_mut(), extra.as_object()) {
            u.extend(e.clone());
        }
        serde_json::json!({ "upstreams": [up] })
    }

    #[test]
    fn bad_values_name_their_key() {
        let key = |v| from_value(v, None).err().map(|e| e.key).unwrap_or_default();
        assert_eq!(
            key(value(serde_json::json!({"list_filter": "maybe"}))),
            "upstreams[0].list_filter"
        );
        assert_eq!(
            key(value(serde_json::json!({"unknown_tools": "a b"}))),
            "upstreams[0].unknown_tools"
        );
        assert_eq!(
            key(value(serde_json::json!({"upstream_url": "nope"}))),
            "upstreams[0].upstream_url"
        );
        assert_eq!(
            key(value(
                serde_json::json!({"tools": [{"name": "x", "scopes": ["a\"b"]}]})
            )),
            "upstreams[0].tools[0].scopes"
        );
        assert_eq!(key(serde_json::json!({"upstreams": []})), "upstreams");
        assert!(from_value(serde_json::json!({"upstreams": [], "bogus": 1}), None).is_err());
        let ok = from_value(value(serde_json::json!({})), None).unwrap();
        assert_eq!(ok.upstreams[0].list_filter, ListFilter::Hide);
        assert_eq!(ok.upstreams[0].unknown_tools, UnknownTools::Deny);
    }
}
