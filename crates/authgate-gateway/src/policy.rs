//! The policy: which scopes each tool, prompt and resource needs, by name
//! (tools, prompts) or URI (resources) with `*` wildcards; those without a
//! rule need a configured scope or are denied.

use authgate_resource::Claims;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// What a tool (prompt, resource) without a rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownTools {
    /// No scope unlocks it.
    Deny,
    /// This scope.
    Scope(String),
}

/// What the policy guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tools/call`, by `params.name`.
    Tool,
    /// `prompts/get`, by `params.name`.
    Prompt,
    /// `resources/read` and `resources/subscribe`, by `params.uri`.
    Resource,
}

impl Kind {
    /// The audit and metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
        }
    }
}

/// One rule: names (or URIs) matching `pattern` need `scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub pattern: String,
    pub scopes: Vec<String>,
    pub log_arguments: bool,
}

/// What the policy says about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Allowed to a token holding every one of these scopes; `rule` is the
    /// matching rule (None: the `unknown_*` scope applied).
    Needs {
        scopes: &'a [String],
        rule: Option<&'a Rule>,
    },
    /// Never allowed (no rule, and `unknown_* = "deny"`).
    Denied,
}

/// The rules of one kind. The first rule whose pattern matches wins, so
/// put specific names before wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
    unknown: UnknownTools,
    unknown_scopes: Vec<String>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>, unknown: UnknownTools) -> Self {
        let unknown_scopes = match &unknown {
            UnknownTools::Scope(s) => vec![s.clone()],
            UnknownTools::Deny => Vec::new(),
        };
        Self {
            rules,
            unknown,
            unknown_scopes,
        }
    }

    /// The decision for `name`.
    pub fn decide(&self, name: &str) -> Decision<'_> {
        if let Some(rule) = self.rules.iter().find(|r| glob_match(&r.pattern, name)) {
            return Decision::Needs {
                scopes: &rule.scopes,
                rule: Some(rule),
            };
        }
        match self.unknown {
            UnknownTools::Deny => Decision::Denied,
            UnknownTools::Scope(_) => Decision::Needs {
                scopes: &self.unknown_scopes,
                rule: None,
            },
        }
    }
}

/// The rules of one upstream: tools, prompts, resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    tools: RuleSet,
    prompts: RuleSet,
    resources: RuleSet,
}

impl Policy {
    pub fn new(tools: RuleSet, prompts: RuleSet, resources: RuleSet) -> Self {
        Self {
            tools,
            prompts,
            resources,
        }
    }

    /// Tool rules only; prompts and resources fall to the same `unknown`.
    pub fn tools_only(rules: Vec<Rule>, unknown: UnknownTools) -> Self {
        Self::new(
            RuleSet::new(rules, unknown.clone()),
            RuleSet::new(Vec::new(), unknown.clone()),
            RuleSet::new(Vec::new(), unknown),
        )
    }

    fn set(&self, kind: Kind) -> &RuleSet {
        match kind {
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
            Kind::Resource => &self.resources,
        }
    }

    /// The decision for the tool `tool`.
    pub fn decide(&self, tool: &str) -> Decision<'_> {
        self.tools.decide(tool)
    }

    /// The decision for `name` of `kind`.
    pub fn decide_for(&self, kind: Kind, name: &str) -> Decision<'_> {
        self.set(kind).decide(name)
    }

    /// Whether `claims` may use `name` of `kind`.
    pub fn allows(&self, claims: &Claims, kind: Kind, name: &str) -> bool {
        match self.decide_for(kind, name) {
            Decision::Needs { scopes, .. } => claims.has_scopes(scopes),
            Decision::Denied => false,
        }
    }
}

/// `*` matches any run of characters (none included); everything else
/// matches itself. Iterative with one backtrack point, so no pattern can
/// make matching slow.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// The live policy of one upstream, swapped whole when its file changes.
#[derive(Debug)]
pub struct LivePolicy {
    current: RwLock<Arc<Policy>>,
}

impl LivePolicy {
    pub fn new(p: Policy) -> Self {
        Self {
            current: RwLock::new(Arc::new(p)),
        }
    }

    pub fn get(&self) -> Arc<Policy> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, p: Policy) {
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(p),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(p),
        }
    }
}

/// How often policy files are checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// Polls `file`'s modification time and reloads it into `live` when it
/// changes. A file that fails to load keeps the old policy (and the error
/// is logged); the next change is tried again.
pub async fn watch(
    upstream: String,
    file: PathBuf,
    unknown: crate::config::Unknowns,
    live: Arc<LivePolicy>,
    interval: Duration,
) {
    let mtime = |f: &PathBuf| std::fs::metadata(f).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = mtime(&file);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = mtime(&file);
        if now == seen {
            continue;
        }
        seen = now;
        match crate::config::read_policy_file(&file, &unknown) {
            Ok(p) => {
                live.set(p);
                metrics::counter!("authgate_gateway_policy_reloads_total", "upstream" => upstream.clone(), "outcome" => "ok").increment(1);
                tracing::info!(%upstream, file = %file.display(), "policy reloaded");
            }
            Err(e) => {
                metrics::counter!("authgate_gateway_policy_reloads_total", "upstream" => upstream.clone(), "outcome" => "error").increment(1);
                tracing::error!(%upstream, error = %e, "policy file not reloaded: the previous policy stays in force");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("get_*", "get_forecast"));
        assert!(glob_match("get_*", "get_"));
        assert!(!glob_match("get_*", "set_alert"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(glob_match("*_alert", "set_alert"));
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &long));
    }

    #[test]
    fn first_rule_wins_and_unknown_tools() {
        let rule = |p: &str, s: &str| Rule {
            pattern: p.into(),
            scopes: vec![s.into()],
            log_arguments: false,
        };
        let p = Policy::tools_only(
            vec![rule("set_alert", "w"), rule("*_alert", "x")],
            UnknownTools::Deny,
        );
        assert!(matches!(p.decide("set_alert"), Decision::Needs { scopes, .. } if scopes == ["w"]));
        assert!(matches!(p.decide("del_alert"), Decision::Needs { scopes, .. } if scopes == ["x"]));
        assert_eq!(p.decide("other"), Decision::Denied);
        let p = Policy::tools_only(vec![], UnknownTools::Scope("d".into()));
        assert!(
            matches!(p.decide("other"), Decision::Needs { scopes, rule: None } if scopes == ["d"])
        );
        // Prompts and resources keep rule sets of their own.
        let p = Policy::new(
            RuleSet::new(vec![rule("*", "t")], UnknownTools::Deny),
            RuleSet::new(vec![rule("brief", "p")], UnknownTools::Deny),
            RuleSet::new(
                vec![rule("weather://*", "r")],
                UnknownTools::Scope("x".into()),
            ),
        );
        assert!(
            matches!(p.decide_for(Kind::Prompt, "brief"), Decision::Needs { scopes, .. } if scopes == ["p"])
        );
        assert_eq!(p.decide_for(Kind::Prompt, "other"), Decision::Denied);
        assert!(
            matches!(p.decide_for(Kind::Resource, "weather://oslo/now"), Decision::Needs { scopes, .. } if scopes == ["r"])
        );
        assert!(
            matches!(p.decide_for(Kind::Resource, "file:///etc/passwd"), Decision::Needs { scopes, rule: None } if scopes == ["x"])
        );
    }
}
