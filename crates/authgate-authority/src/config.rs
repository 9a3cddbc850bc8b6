//! Configuration: defaults, then a TOML file (`--config`), then environment
//! variables (`AUTHGATE_…`, nested keys with `__`), then command-line
//! flags. Secrets can come from files (`*_file` keys). Every error names the
//! key at fault.

use authgate_core::model::SigningAlg;
use authgate_core::resource_uri;
use figment2::Figment;
use figment2::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use crate::config_error::{ConfigError, read_secret_file};
pub use crate::declared::{ClientConfig, ResourceConfig};

/// Default listen address: loopback only, so a zero-config start never
/// exposes anything to the network. The default issuer is derived from the
/// listen address (`http://<listen>`), so `--listen 127.0.0.1:9000` alone
/// gives a server whose links point at itself.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
/// Accepted `log_level` values.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authgate.db";
pub const DEFAULT_DATA_DIR: &str = "authgate-data";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier, byte for byte as clients and MCP servers use it.
    /// Unset: `http://<listen>` when `listen` is a loopback address (refused
    /// otherwise: only the operator knows the public URL).
    pub issuer: Option<String>,
    pub listen: String,
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    /// Where generated files live (the key-encryption key when none is given).
    pub data_dir: PathBuf,
    /// 32 bytes, base64 (standard or url-safe). Prefer `key_encryption_key_file`.
    pub key_encryption_key: Option<String>,
    /// File holding the key-encryption key (base64). Created, mode 0600, on
    /// first start when missing.
    pub key_encryption_key_file: Option<PathBuf>,
    pub signing_alg: String,
    /// Seconds between reloads of signing keys from the store, so a rotation
    /// made by another instance or the CLI is picked up.
    pub key_reload_interval_secs: u64,
    pub log_level: String,
    pub log_json: bool,
    /// Optional separate listener for Prometheus metrics (`/metrics`).
    pub metrics_listen: Option<String>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Lifetime of authorization codes.
    pub authorization_code_ttl_secs: i64,
    /// Window in which a rotated refresh token may be presented again
    /// (parallel refreshes) and get the same successor.
    pub refresh_grace_secs: i64,
    pub id_token_ttl_secs: i64,
    pub session_ttl_secs: i64,
    /// Name shown on pages.
    pub instance_name: String,
    pub logo_uri: Option<String>,
    /// Accent colour of the pages in the light theme (`#rrggbb`), checked
    /// for contrast (see `branding`).
    pub primary_color: Option<String>,
    /// Accent colour in the dark theme.
    pub primary_color_dark: Option<String>,
    /// How many Argon2 password checks may run at once (bounds CPU so a
    /// sign-in flood cannot starve the token endpoint).
    pub password_hash_concurrency: usize,
    /// Failed sign-ins for one account from one client address (IPv4
    /// address or IPv6 /64) before that pair is locked out. Other addresses
    /// can still sign in to the account (they are only slowed down once
    /// the account sees many failures overall, see `throttle`).
    pub login_max_failures_per_account: u32,
    /// Failed sign-ins per client address (any accounts) before a lockout.
    pub login_max_failures_per_address: u32,
    /// Length of the failure window and of a lockout, in seconds.
    pub login_lockout_secs: i64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`
    /// is believed for the client address: sign-in throttling, registration
    /// limits and the audit log.
    pub trusted_proxies: Vec<String>,
    /// Days audit events are kept (purged by the periodic job).
    pub audit_retention_days: i64,
    /// Sensitive dashboard actions (signing keys, administrators, client
    /// secrets, password links) ask for the password again when the
    /// session's last password sign-in is older than this.
    pub admin_reauthenticate_after_secs: i64,
    /// Audit events queued for the writer; beyond it routine events are
    /// dropped (counted) and security events wait (never dropped).
    pub audit_queue_capacity: usize,
    /// Let the admin connection check fetch MCP servers on loopback and
    /// private addresses (off: only public addresses, like CIMD fetches).
    pub admin_connection_check_allow_private: bool,
    #[serde(default)]
    pub resources: Vec<ResourceConfig>,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// `[cimd]`: client ID metadata documents (fetch limits, host rules).
    #[serde(default)]
    pub cimd: crate::cimd::config::CimdConfig,
    /// `[dynamic_registration]`: RFC 7591 registration and its limits.
    #[serde(default)]
    pub dynamic_registration: crate::registration::limits::RegistrationConfig,
    /// `[http]`: listener timeouts and connection limit.
    #[serde(default)]
    pub http: crate::listener_config::HttpConfig,
    /// `[mfa]`: when a second factor is required.
    #[serde(default)]
    pub mfa: crate::mfa::config::MfaConfig,
    /// `[gateway]`: run `authgate gateway` in this process too. Kept as
    /// data here (the gateway is an HTTP component); `authgate-server`
    /// checks it with the gateway's own configuration rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<serde_json::Value>,
    /// `[smtp]`: the mail server (see `mail::config`). Unset: no mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<crate::mail::SmtpConfig>,
    /// `[signup]`: self sign-up (off by default; needs `[smtp]`).
    #[serde(default)]
    pub signup: crate::signup::SignupConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: None,
            listen: DEFAULT_LISTEN.into(),
            database_url: None,
            database_url_file: None,
            data_dir: DEFAULT_DATA_DIR.into(),
            key_encryption_key: None,
            key_encryption_key_file: None,
            signing_alg: "ES256".into(),
            key_reload_interval_secs: 30,
            log_level: "info".into(),
            log_json: false,
            metrics_listen: None,
            tls_cert_file: None,
            tls_key_file: None,
            max_body_bytes: 64 * 1024,
            authorization_code_ttl_secs: 60,
            refresh_grace_secs: 10,
            id_token_ttl_secs: 3600,
            session_ttl_secs: 12 * 3600,
            instance_name: "authgate".into(),
            logo_uri: None,
            primary_color: None,
            primary_color_dark: None,
            password_hash_concurrency: 1,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 50,
            login_lockout_secs: 900,
            trusted_proxies: vec![],
            audit_retention_days: 90,
            admin_reauthenticate_after_secs: 300,
            audit_queue_capacity: 10_000,
            admin_connection_check_allow_private: false,
            resources: vec![],
            clients: vec![],
            cimd: Default::default(),
            dynamic_registration: Default::default(),
            http: Default::default(),
            mfa: Default::default(),
            gateway: None,
            smtp: None,
            signup: Default::default(),
        }
    }
}

/// Command-line overrides (only what was given).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_json: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// The configuration after validation, with derived values.
#[derive(Debug, Clone)]
pub struct Settings {
    pub raw: Config,
    pub issuer: String,
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub database_url: String,
    pub signing_alg: SigningAlg,
    /// `trusted_proxies`, parsed.
    pub trusted_proxies: Vec<crate::net::ProxyRange>,
    /// Configurations that start but are probably wrong; `serve` logs each
    /// as a warning.
    pub warnings: Vec<String>,
    /// `[smtp]`, checked (its password read from its file).
    pub smtp: Option<crate::mail::SmtpSettings>,
}

pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = config_file {
        if !path.is_file() {
            return Err(ConfigError::new(
                "--config",
                format!("file {} does not exist", path.display()),
            ));
        }
        fig = fig.merge(Toml::file(path));
    }
    // Only `AUTHGATE_<KEY>` for a documented top-level key: other tools
    // share the prefix (those that set nothing are warned about below).
    fig = fig
        .merge(Env::prefixed("AUTHGATE_").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            crate::config_keys::env_keys().any(|known| known == k)
        }))
        .merge(Serialized::defaults(overrides));
    let raw: Config = fig.extract().map_err(|e| {
        if let figment2::error::Kind::UnknownField(_, expected) = &e.kind {
            let file = e.metadata.as_ref().and_then(|m| match &m.source {
                Some(figment2::Source::File(f)) => Some(f.as_path()),
                _ => None,
            });
            return crate::config_unknown::unknown_key(&e.path, expected, file);
        }
        let key = e.path.join(".");
        let key = if key.is_empty() {
            "config".to_string()
        } else {
            key
        };
        let mut reason = e.kind.to_string();
        if let Some(m) = e.metadata.as_ref() {
            reason.push_str(&format!(" (from {})", m.name));
        }
        ConfigError::new(key, reason)
    })?;
    let mut settings = validate(raw)?;
    settings.warnings.extend(crate::config_unknown::unknown_env(
        std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
    ));
    Ok(settings)
}

/// Checks every key and derives [`Settings`]. The first problem found is
/// the error, in the order below (addresses, log level, secrets, limits,
/// then the declared MCP servers and clients).
pub fn validate(raw: Config) -> Result<Settings, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::new(
            "listen",
            format!("{:?} is not an address like 127.0.0.1:8080", raw.listen),
        )
    })?;
    let issuer = match &raw.issuer {
        Some(i) => validate_issuer(i)?,
        None => issuer_from_listen(listen)?,
    };
    let warnings: Vec<String> = issuer_listen_mismatch(&issuer, listen)
        .into_iter()
        .collect();
    check_log_level(&raw.log_level)?;
    let trusted_proxies = crate::net::parse_trusted("trusted_proxies", &raw.trusted_proxies)?;
    let metrics_listen = raw
        .metrics_listen
        .as_deref()
        .map(|m| {
            m.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "metrics_listen",
                    format!("{m:?} is not an address like 127.0.0.1:9090"),
                )
            })
        })
        .transpose()?;
    let signing_alg = SigningAlg::parse(&raw.signing_alg).ok_or_else(|| {
        ConfigError::new(
            "signing_alg",
            format!("{:?} is not one of ES256, RS256, EdDSA", raw.signing_alg),
        )
    })?;
    let database_url = database_url(&raw)?;
    check_paired_files(&raw)?;
    check_limits(&raw)?;
    if let Some(l) = &raw.logo_uri {
        url::Url::parse(l)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| ConfigError::new("logo_uri", "must be an absolute http(s) URL"))?;
    }
    crate::branding::validate(&raw)?;
    check_declarations(&raw)?;
    crate::cimd::config::validate_config(&raw.cimd)?;
    crate::registration::limits::validate_config(&raw.dynamic_registration)?;
    crate::listener_config::validate_config(&raw.http)?;
    crate::signup::validate_config(&raw)?;
    let smtp = raw
        .smtp
        .as_ref()
        .map(crate::mail::config::validate)
        .transpose()?;
    Ok(Settings {
        smtp,
        issuer,
        listen,
        metrics_listen,
        database_url,
        signing_alg,
        trusted_proxies,
        warnings,
        raw,
    })
}

fn check_log_level(log_level: &str) -> Result<(), ConfigError> {
    if log_level_ok(log_level) {
        return Ok(());
    }
    Err(ConfigError::new(
        "log_level",
        format!(
            "{:?} is not one of {} (or a list like \"info,authgate=debug\"; \
             AUTHGATE_LOG takes any filter)",
            log_level,
            LOG_LEVELS.join(", ")
        ),
    ))
}

/// The database URL, given inline or in a file (not both), for one of the
/// two backends this server ships.
fn database_url(raw: &Config) -> Result<String, ConfigError> {
    let database_url = match (&raw.database_url, &raw.database_url_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "database_url_file",
                "give either database_url or database_url_file, not both",
            ));
        }
        (Some(u), None) => u.clone(),
        (None, Some(f)) => read_secret_file("database_url_file", f)?,
        (None, None) => DEFAULT_DATABASE_URL.into(),
    };
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(ConfigError::new(
            "database_url",
            "must start with sqlite:, postgres:// or postgresql://",
        ));
    }
    Ok(database_url)
}

/// Keys that come in pairs: the key-encryption key inline or from a file
/// (one, else which one wins would be a guess), and TLS certificate with
/// its private key (one alone cannot serve TLS).
fn check_paired_files(raw: &Config) -> Result<(), ConfigError> {
    if raw.key_encryption_key.is_some() && raw.key_encryption_key_file.is_some() {
        return Err(ConfigError::new(
            "key_encryption_key_file",
            "give either key_encryption_key or key_encryption_key_file, not both",
        ));
    }
    if raw.tls_cert_file.is_some() != raw.tls_key_file.is_some() {
        return Err(ConfigError::new(
            "tls_cert_file",
            "tls_cert_file and tls_key_file must be given together",
        ));
    }
    Ok(())
}

/// Lifetimes, sizes and counts within ranges that keep the server safe
/// and usable (a zero lockout or a gigabyte body limit is a typo, not a
/// choice).
fn check_limits(raw: &Config) -> Result<(), ConfigError> {
    for (key, v, min, max) in [
        (
            "authorization_code_ttl_secs",
            raw.authorization_code_ttl_secs,
            1,
            600,
        ),
        ("refresh_grace_secs", raw.refresh_grace_secs, 0, 300),
        ("id_token_ttl_secs", raw.id_token_ttl_secs, 60, 86400),
        ("session_ttl_secs", raw.session_ttl_secs, 60, 30 * 86400),
        (
            "admin_reauthenticate_after_secs",
            raw.admin_reauthenticate_after_secs,
            30,
            86400,
        ),
    ] {
        if !(min..=max).contains(&v) {
            return Err(ConfigError::new(
                key,
                format!("must be between {min} and {max}"),
            ));
        }
    }
    if !(1024..=16 * 1024 * 1024).contains(&raw.max_body_bytes) {
        return Err(ConfigError::new(
            "max_body_bytes",
            "must be between 1024 and 16777216",
        ));
    }
    if raw.password_hash_concurrency == 0 || raw.password_hash_concurrency > 64 {
        return Err(ConfigError::new(
            "password_hash_concurrency",
            "must be between 1 and 64",
        ));
    }
    for (key, v) in [
        (
            "login_max_failures_per_account",
            raw.login_max_failures_per_account,
        ),
        (
            "login_max_failures_per_address",
            raw.login_max_failures_per_address,
        ),
    ] {
        if !(1..=100_000).contains(&v) {
            return Err(ConfigError::new(key, "must be between 1 and 100000"));
        }
    }
    if !(1..=86400).contains(&raw.login_lockout_secs) {
        return Err(ConfigError::new(
            "login_lockout_secs",
            "must be between 1 and 86400",
        ));
    }
    if !(1..=36500).contains(&raw.audit_retention_days) {
        return Err(ConfigError::new(
            "audit_retention_days",
            "must be between 1 and 36500",
        ));
    }
    if !(16..=1_000_000).contains(&raw.audit_queue_capacity) {
        return Err(ConfigError::new(
            "audit_queue_capacity",
            "must be between 16 and 1000000",
        ));
    }
    if raw.key_reload_interval_secs == 0 {
        return Err(ConfigError::new(
            "key_reload_interval_secs",
            "must be at least 1",
        ));
    }
    Ok(())
}

/// The `[[resources]]` and `[[clients]]` tables, each error naming the
/// entry by index: every MCP server valid and on its own URL (a token's
/// audience must name one server), every client valid against them.
fn check_declarations(raw: &Config) -> Result<(), ConfigError> {
    for (i, r) in raw.resources.iter().enumerate() {
        crate::declared::validate_resource_config(r)
            .map_err(|(k, reason)| ConfigError::new(format!("resources[{i}].{k}"), reason))?;
    }
    let uris: Vec<(&str, &str)> = raw
        .resources
        .iter()
        .map(|r| (r.id.as_str(), r.uri.as_str()))
        .collect();
    if let Some((a, b)) = crate::registry::duplicate_uri(&uris) {
        let i = raw.resources.iter().rposition(|r| r.id == b).unwrap_or(0);
        return Err(ConfigError::new(
            format!("resources[{i}].uri"),
            format!("{b:?} has the same URL as {a:?}; each MCP server needs its own URL"),
        ));
    }
    for (i, c) in raw.clients.iter().enumerate() {
        crate::declared::validate_client_config(c, &raw.resources)
            .map_err(|(k, reason)| ConfigError::new(format!("clients[{i}].{k}"), reason))?;
    }
    Ok(())
}

/// A level, or comma-separated items each a level or `target=level`. A
/// bare word that is not a level is refused: the log filter would read it
/// as a target name and silence everything else (`--log-level loud`).
fn log_level_ok(s: &str) -> bool {
    let level = |l: &str| LOG_LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    !s.trim().is_empty()
        && s.split(',').all(|item| match item.split_once('=') {
            None => level(item),
            Some((target, l)) => {
                let t = target.trim();
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
                    && level(l)
            }
        })
}

/// The issuer when none is configured: the listen address itself, which is
/// right only when clients reach the server there, i.e. on loopback. On
/// any other address (0.0.0.0 in a container, a LAN address) the URL
/// clients use is unknowable here, and a guessed issuer would make every
/// link and token name the wrong server: refuse and ask for it.
fn issuer_from_listen(listen: SocketAddr) -> Result<String, ConfigError> {
    if listen.ip().is_loopback() {
        return Ok(format!("http://{listen}"));
    }
    Err(ConfigError::new(
        "issuer",
        format!(
            "not set, and listen ({listen}) is not a loopback address, so the URL clients \
             use cannot be guessed; set issuer (e.g. issuer = \"https://auth.example.com\")"
        ),
    ))
}

/// A loopback issuer on another port than the one listened on usually
/// means the printed links point at whatever else runs there. Not refused:
/// a proxy or port forward may sit in front on purpose.
fn issuer_listen_mismatch(issuer: &str, listen: SocketAddr) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    if !url.host_str().is_some_and(resource_uri::is_loopback_host) {
        return None;
    }
    let port = url.port_or_known_default()?;
    (port != listen.port()).then(|| {
        format!(
            "issuer {issuer} is on loopback port {port} but the server listens on {listen}: \
             links and discovery point at port {port}; unless a proxy forwards it here, set \
             issuer to http://127.0.0.1:{} or remove it",
            listen.port()
        )
    })
}

/// The issuer must be an absolute URL without query or fragment; https
/// unless the host is loopback. Kept byte for byte as given, because
/// clients compare it exactly: so a trailing `/` or surrounding spaces,
/// which would otherwise have to be silently dropped (endpoints are
/// `<issuer>/token`), are refused with the spelling to use.
fn validate_issuer(s: &str) -> Result<String, ConfigError> {
    if s.trim() != s {
        return Err(ConfigError::new(
            "issuer",
            format!("{s:?} has spaces around it; write it without them"),
        ));
    }
    if s.ends_with('/') {
        return Err(ConfigError::new(
            "issuer",
            format!(
                "{s:?} ends with `/`; write {:?}: the issuer is compared byte for byte and \
                 endpoints are <issuer>/token, <issuer>/authorize, …",
                s.trim_end_matches('/')
            ),
        ));
    }
    let url = url::Url::parse(s)
        .map_err(|_| ConfigError::new("issuer", format!("{s:?} is not an absolute URL")))?;
    let host = url
        .host_str()
        .ok_or_else(|| ConfigError::new("issuer", "must have a host"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            "issuer",
            "must not have a query or fragment",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if resource_uri::is_loopback_host(host) => {}
        "http" => {
            return Err(ConfigError::new(
                "issuer",
                "must use https unless the host is loopback (127.0.0.1, [::1], localhost)",
            ));
        }
        other => {
            return Err(ConfigError::new(
                "issuer",
                format!("scheme {other:?} is not http(s)"),
            ));
        }
    }
    Ok(s.to_string())
}

impl Settings {
    pub fn issuer_path(&self) -> &str {
        // validated URL
        let after_scheme = self.issuer.split_once("://").map(|x| x.1).unwrap_or("");
        after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("")
    }
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let s = validate(Config::default()).unwrap();
        assert_eq!(s.issuer, DEFAULT_ISSUER);
        assert_eq!(s.issuer_path(), "");
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn issuer_defaults_to_the_listen_address() {
        let c = Config {
            listen: "127.0.0.1:9000".into(),
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap().issuer, "http://127.0.0.1:9000");
        let c = Config {
            listen: "[::1]:9001".into(),
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap().issuer, "http://[::1]:9001");
        for listen in ["0.0.0.0:8080", "[::]:8080", "192.168.1.5:8080"] {
            let c = Config {
                listen: listen.into(),
                ..Config::default()
            };
            let e = validate(c).unwrap_err();
            assert_eq!(e.key, "issuer", "{listen}");
            assert!(e.reason.contains("set issuer"), "{}", e.reason);
        }
        // Set explicitly, any listen address is fine.
        let c = Config {
            listen: "0.0.0.0:8443".into(),
            issuer: Some("https://auth.example.com".into()),
            ..Config::default()
        };
        let s = validate(c).unwrap();
        assert_eq!(s.issuer, "https://auth.example.com");
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn loopback_issuer_on_another_port_warns() {
        let c = Config {
            listen: "127.0.0.1:9000".into(),
            issuer: Some("http://127.0.0.1:8080".into()),
            ..Config::default()
        };
        let s = validate(c).unwrap();
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("port 8080"), "{:?}", s.warnings);
        let c = Config {
            listen: "127.0.0.1:9000".into(),
            issuer: Some("http://localhost:9000/t".into()),
            ..Config::default()
        };
        assert!(validate(c).unwrap().warnings.is_empty());
    }

    #[test]
    fn log_level_must_be_a_level() {
        for bad in [
            "loud",
            "",
            "verbose",
            "info,loud",
            "authgate=loud",
            "=debug",
            "info,",
        ] {
            let c = Config {
                log_level: bad.into(),
                ..Config::default()
            };
            assert_eq!(validate(c).unwrap_err().key, "log_level", "{bad}");
        }
        for ok in LOG_LEVELS.iter().chain(&[
            "WARN",
            "Debug",
            "info,authgate=debug",
            "authgate_server=trace",
        ]) {
            let c = Config {
                log_level: (*ok).into(),
                ..Config::default()
            };
            assert!(validate(c).is_ok(), "{ok}");
        }
    }

    #[test]
    fn trusted_proxies_are_checked_and_moved() {
        let c = Config {
            trusted_proxies: vec!["10.0.0.0/8".into(), "not-an-ip".into()],
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap_err().key, "trusted_proxies[1]");
        let mut c = Config::default();
        c.dynamic_registration.trusted_proxies = vec!["10.0.0.1".into()];
        let e = validate(c).unwrap_err();
        assert_eq!(e.key, "dynamic_registration.trusted_proxies");
        assert!(e.reason.contains("top-level"), "{}", e.reason);
    }

    #[test]
    fn non_loopback_http_issuer_refused() {
        let c = Config {
            issuer: Some("http://auth.example.com".into()),
            ..Config::default()
        };
        let e = validate(c).unwrap_err();
        assert_eq!(e.key, "issuer");
    }

    #[test]
    fn issuer_with_path() {
        let c = Config {
            issuer: Some("https://auth.example.com/t".into()),
            ..Config::default()
        };
        let s = validate(c).unwrap();
        assert_eq!(s.issuer, "https://auth.example.com/t");
        assert_eq!(s.issuer_path(), "/t");
    }

    /// The issuer is used byte for byte, so a spelling that would have to
    /// be changed to work is refused, naming the one to use.
    #[test]
    fn issuer_with_trailing_slash_or_spaces_is_refused() {
        for (bad, hint) in [
            ("https://auth.example.com/", "\"https://auth.example.com\""),
            (
                "https://auth.example.com/t/",
                "\"https://auth.example.com/t\"",
            ),
            (" https://auth.example.com", "spaces"),
        ] {
            let c = Config {
                issuer: Some(bad.into()),
                ..Config::default()
            };
            let e = validate(c).unwrap_err();
            assert_eq!(e.key, "issuer", "{bad}");
            assert!(e.reason.contains(hint), "{bad}: {}", e.reason);
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let c = Config {
            listen: "nope".into(),
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap_err().key, "listen");
        let c = Config {
            signing_alg: "HS256".into(),
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap_err().key, "signing_alg");
        let c = Config {
            database_url: Some("mysql://x".into()),
            ..Config::default()
        };
        assert_eq!(validate(c).unwrap_err().key, "database_url");
    }
}
