//! Configuration: defaults, then a TOML file, then `AUTHGATE_GATEWAY_…`
//! environment variables, then flags (the same layering as `authgate
//! serve`). Every error names the key at fault.

use crate::policy::{Policy, Rule, RuleSet, UnknownTools};
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
    /// Origins of browser-based MCP clients allowed by CORS: exact origins
    /// (`https://app.example`) or `*`. Empty (the default): no CORS headers.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
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
            cors_allowed_origins: Vec::new(),
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
    /// The `scope` of the 401 challenge: what a client asks for on first
    /// sign-in. Empty (the default): the challenge names no scope and the
    /// authorization server grants the resource's default scopes — never
    /// every scope the resource knows.
    #[serde(default)]
    pub baseline_scopes: Vec<String>,
    /// Scope implications, as the authorization server declares them:
    /// `{ "weather:write" = ["weather:read"] }` lets a `weather:write`
    /// token call what needs `weather:read`.
    #[serde(default)]
    pub scope_implies: std::collections::BTreeMap<String, Vec<String>>,
    /// `deny`, or the scope a tool without a rule needs.
    #[serde(default = "default_unknown")]
    pub unknown_tools: String,
    /// `deny`, or the scope a prompt without a rule needs (default: as
    /// `unknown_tools`).
    #[serde(default)]
    pub unknown_prompts: Option<String>,
    /// `deny`, or the scope a resource without a rule needs (default: as
    /// `unknown_tools`).
    #[serde(default)]
    pub unknown_resources: Option<String>,
    /// `hide` (lists show what the token may call) or `show`.
    #[serde(default = "default_list_filter")]
    pub list_filter: String,
    /// Rules in a separate file, hot reloaded (instead of `tools`,
    /// `prompts` and `resources`).
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    #[serde(default)]
    pub tools: Vec<ToolRuleConfig>,
    #[serde(default)]
    pub prompts: Vec<ToolRuleConfig>,
    #[serde(default)]
    pub resources: Vec<ResourceRuleConfig>,
}

fn default_unknown() -> String {
    "deny".into()
}

fn default_list_filter() -> String {
    "hide".into()
}

/// A `[[upstreams.tools]]` or `[[upstreams.prompts]]` rule (also the
/// `[[tools]]` and `[[prompts]]` of a policy file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRuleConfig {
    /// A tool (prompt) name; `*` matches any run of characters.
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Put the call's arguments into its audit row.
    #[serde(default)]
    pub log_arguments: bool,
}

/// A `[[upstreams.resources]]` rule (also the `[[resources]]` of a policy
/// file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRuleConfig {
    /// A resource URI; `*` matches any run of characters (`/` included).
    pub uri: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A policy file: `unknown_tools`, `unknown_prompts`,
/// `unknown_resources` (optional) and `[[tools]]`, `[[prompts]]`,
/// `[[resources]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub unknown_tools: Option<String>,
    pub unknown_prompts: Option<String>,
    pub unknown_resources: Option<String>,
    #[serde(default)]
    pub tools: Vec<ToolRuleConfig>,
    #[serde(default)]
    pub prompts: Vec<ToolRuleConfig>,
    #[serde(default)]
    pub resources: Vec<ResourceRuleConfig>,
}

/// The `unknown_*` settings of the main configuration. Prompts and
/// resources without a setting of their own follow `unknown_tools` (as in
/// force, a policy file's included): never more open than tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknowns {
    pub tools: UnknownTools,
    pub prompts: Option<UnknownTools>,
    pub resources: Option<UnknownTools>,
}

impl Unknowns {
    /// The three settings in force, a policy file's (`file`) overriding.
    fn resolve(&self, file: Unknowns) -> [UnknownTools; 3] {
        let tools = file.tools;
        let prompts = file
            .prompts
            .or_else(|| self.prompts.clone())
            .unwrap_or_else(|| tools.clone());
        let resources = file
            .resources
            .or_else(|| self.resources.clone())
            .unwrap_or_else(|| tools.clone());
        [tools, prompts, resources]
    }
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
    pub baseline_scopes: Vec<String>,
    pub scope_implies: std::collections::BTreeMap<String, Vec<String>>,
    pub list_filter: ListFilter,
    pub policy_file: Option<PathBuf>,
    /// The policy from the configuration (or the policy file at start).
    pub policy: Policy,
    /// The `unknown_*` of the main configuration (a policy file may
    /// override them).
    pub unknown: Unknowns,
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
    pub cors_allowed_origins: Vec<String>,
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

/// Whether `s` is exactly an http(s) origin, as browsers send it.
fn is_origin(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == s
    })
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

/// Checks tool (prompt) rules (`key` prefixes the key names in errors).
pub fn rules(key: &str, tools: &[ToolRuleConfig]) -> Result<Vec<Rule>, ConfigError> {
    tools
        .iter()
        .enumerate()
        .map(|(i, t)| rule(key, i, "name", &t.name, &t.scopes, t.log_arguments))
        .collect()
}

/// Checks resource rules.
pub fn resource_rules(
    key: &str,
    resources: &[ResourceRuleConfig],
) -> Result<Vec<Rule>, ConfigError> {
    resources
        .iter()
        .enumerate()
        .map(|(i, r)| rule(key, i, "uri", &r.uri, &r.scopes, false))
        .collect()
}

fn rule(
    key: &str,
    i: usize,
    field: &str,
    pattern: &str,
    scopes: &[String],
    log_arguments: bool,
) -> Result<Rule, ConfigError> {
    if pattern.is_empty() {
        return Err(ConfigError::new(
            format!("{key}[{i}].{field}"),
            "must not be empty",
        ));
    }
    if let Some(s) = scopes.iter().find(|s| !is_scope_token(s)) {
        return Err(ConfigError::new(
            format!("{key}[{i}].scopes"),
            format!("{s:?} is not a valid scope name"),
        ));
    }
    Ok(Rule {
        pattern: pattern.to_owned(),
        scopes: scopes.to_vec(),
        log_arguments,
    })
}

/// Builds a policy from rules as configured (`key` prefixes error keys).
fn policy(
    key: &dyn Fn(&str) -> String,
    tools: &[ToolRuleConfig],
    prompts: &[ToolRuleConfig],
    resources: &[ResourceRuleConfig],
    [t, p, r]: [UnknownTools; 3],
) -> Result<Policy, ConfigError> {
    Ok(Policy::new(
        RuleSet::new(rules(&key("tools"), tools)?, t),
        RuleSet::new(rules(&key("prompts"), prompts)?, p),
        RuleSet::new(resource_rules(&key("resources"), resources)?, r),
    ))
}

/// Reads and checks a policy file.
pub fn read_policy_file(path: &Path, defaults: &Unknowns) -> Result<Policy, ConfigError> {
    let key = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&key, format!("cannot read: {e}")))?;
    let file: PolicyFile = Figment::from(Toml::string(&text)).extract().map_err(|e| {
        let mut e = figment_error(e);
        e.key = format!("{key}: {}", e.key);
        e
    })?;
    let parse = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_unknown(&format!("{key}: {field}"), s))
            .transpose()
    };
    let unknown = defaults.resolve(Unknowns {
        tools: parse("unknown_tools", &file.unknown_tools)?
            .unwrap_or_else(|| defaults.tools.clone()),
        prompts: parse("unknown_prompts", &file.unknown_prompts)?,
        resources: parse("unknown_resources", &file.unknown_resources)?,
    });
    policy(
        &|f| format!("{key}: {f}"),
        &file.tools,
        &file.prompts,
        &file.resources,
        unknown,
    )
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
    for (i, o) in raw.cors_allowed_origins.iter().enumerate() {
        if o != "*" && !is_origin(o) {
            return Err(ConfigError::new(
                format!("cors_allowed_origins[{i}]"),
                format!("{o:?} must be \"*\" or an origin like https://app.example (no path)"),
            ));
        }
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
        if let Some(s) = u
            .baseline_scopes
            .iter()
            .find(|s| !u.scopes_supported.contains(s))
        {
            return Err(ConfigError::new(
                k("baseline_scopes"),
                format!("{s:?} is not in scopes_supported: list it there or drop it here"),
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
        let optional = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| parse_unknown(&k(field), s))
                .transpose()
        };
        let unknown = Unknowns {
            tools: parse_unknown(&k("unknown_tools"), &u.unknown_tools)?,
            prompts: optional("unknown_prompts", &u.unknown_prompts)?,
            resources: optional("unknown_resources", &u.unknown_resources)?,
        };
        let policy_file = u.policy_file.as_deref().map(resolve);
        let policy = match &policy_file {
            Some(p) => {
                for (field, inline) in [
                    ("tools", u.tools.len()),
                    ("prompts", u.prompts.len()),
                    ("resources", u.resources.len()),
                ] {
                    if inline > 0 {
                        return Err(ConfigError::new(
                            k(field),
                            "give the rules either inline or in policy_file, not both",
                        ));
                    }
                }
                read_policy_file(p, &unknown)
                    .map_err(|e| ConfigError::new(k("policy_file"), e.to_string()))?
            }
            None => policy(
                &k,
                &u.tools,
                &u.prompts,
                &u.resources,
                unknown.resolve(unknown.clone()),
            )?,
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
            baseline_scopes: u.baseline_scopes.clone(),
            scope_implies: u.scope_implies.clone(),
            list_filter,
            policy_file,
            policy,
            unknown,
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
        cors_allowed_origins: raw.cors_allowed_origins,
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
        for bad in [
            "https://app.example/",
            "https://app.example/x",
            "app.example",
            "",
        ] {
            let mut v = value(serde_json::json!({}));
            v["cors_allowed_origins"] = serde_json::json!(["*", bad]);
            assert_eq!(key(v), "cors_allowed_origins[1]", "{bad}");
        }
        let mut v = value(serde_json::json!({}));
        v["cors_allowed_origins"] =
            serde_json::json!(["https://app.example", "http://127.0.0.1:5173"]);
        assert!(from_value(v, None).is_ok());
        assert_eq!(
            key(value(serde_json::json!({
                "scopes_supported": ["r", "w"], "baseline_scopes": ["r", "admin"]
            }))),
            "upstreams[0].baseline_scopes"
        );
        assert!(from_value(serde_json::json!({"upstreams": [], "bogus": 1}), None).is_err());
        let ok = from_value(value(serde_json::json!({})), None).unwrap();
        assert_eq!(ok.upstreams[0].list_filter, ListFilter::Hide);
        assert_eq!(ok.upstreams[0].unknown.tools, UnknownTools::Deny);
        assert_eq!(
            key(value(
                serde_json::json!({"resources": [{"uri": "", "scopes": []}]})
            )),
            "upstreams[0].resources[0].uri"
        );
        assert_eq!(
            key(value(serde_json::json!({"unknown_prompts": "no way"}))),
            "upstreams[0].unknown_prompts"
        );
    }

    #[test]
    fn prompts_and_resources_follow_unknown_tools_unless_set() {
        use crate::policy::{Decision, Kind};
        let s = from_value(
            value(serde_json::json!({"unknown_tools": "t", "unknown_resources": "deny"})),
            None,
        )
        .unwrap();
        let p = &s.upstreams[0].policy;
        assert!(
            matches!(p.decide_for(Kind::Prompt, "x"), Decision::Needs { scopes, .. } if scopes == ["t"])
        );
        assert_eq!(p.decide_for(Kind::Resource, "x"), Decision::Denied);
        let s = from_value(value(serde_json::json!({})), None).unwrap();
        assert_eq!(
            s.upstreams[0].policy.decide_for(Kind::Prompt, "x"),
            Decision::Denied
        );
    }

    #[test]
    fn a_policy_file_holds_prompt_and_resource_rules() {
        use crate::policy::{Decision, Kind};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "unknown_tools = \"t\"\nunknown_resources = \"deny\"\n[[prompts]]\nname = \"brief\"\nscopes = [\"r\"]\n[[resources]]\nuri = \"w://*\"\nscopes = [\"r\"]\n",
        )
        .unwrap();
        let defaults = Unknowns {
            tools: UnknownTools::Deny,
            prompts: None,
            resources: None,
        };
        let p = read_policy_file(&file, &defaults).unwrap();
        assert!(
            matches!(p.decide_for(Kind::Prompt, "brief"), Decision::Needs { scopes, .. } if scopes == ["r"])
        );
        // unknown_prompts follows the file's unknown_tools.
        assert!(
            matches!(p.decide_for(Kind::Prompt, "x"), Decision::Needs { scopes, .. } if scopes == ["t"])
        );
        assert!(
            matches!(p.decide_for(Kind::Resource, "w://a"), Decision::Needs { scopes, .. } if scopes == ["r"])
        );
        assert_eq!(p.decide_for(Kind::Resource, "x://a"), Decision::Denied);
        std::fs::write(&file, "[[resources]]\nname = \"oops\"\n").unwrap();
        assert!(read_policy_file(&file, &defaults).is_err());
    }
}
