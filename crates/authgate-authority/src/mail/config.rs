//! `[smtp]`: where mail goes. Without it nothing is sent (pages that would
//! send say so, and the outbox keeps what was queued for when it is set).

use crate::config_error::{ConfigError, read_secret_file};
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[smtp]` as written in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (loopback
    /// hosts only: a local relay).
    #[serde(default = "default_tls")]
    pub tls: String,
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the SMTP password (never in the TOML itself).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The sender, an RFC 5322 mailbox: `authgate <id@example.com>`.
    pub from: String,
    /// Seconds one SMTP conversation may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts before a message is given up (audited as `mail.given_up`).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The delay after a first failure, doubled after each (at most an
    /// hour).
    #[serde(default = "default_retry")]
    pub retry_base_secs: u64,
}

fn default_tls() -> String {
    "starttls".into()
}
fn default_timeout() -> u64 {
    30
}
fn default_max_attempts() -> u32 {
    10
}
fn default_retry() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

/// The SMTP password; never printed.
#[derive(Clone)]
pub struct SmtpPassword(pub String);

impl std::fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpPassword(..)")
    }
}

/// `[smtp]` checked.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, SmtpPassword)>,
    pub from: Mailbox,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base_secs: u64,
}

fn err(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(format!("smtp.{key}"), reason)
}

/// Whether `host` is this machine (an IP literal on loopback, or
/// `localhost`).
fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `[smtp]`; every error names its key.
pub fn validate(c: &SmtpConfig) -> Result<SmtpSettings, ConfigError> {
    let host = c.host.trim();
    if host.is_empty() || host.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err(err("host", "must be a host name or address"));
    }
    let tls = match c.tls.as_str() {
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        "none" if loopback(host) => SmtpTls::None,
        "none" => {
            return Err(err(
                "tls",
                "\"none\" sends mail (and the SMTP password) in clear text: only for a relay on this machine (127.0.0.1, ::1 or localhost)",
            ));
        }
        other => {
            return Err(err(
                "tls",
                format!("{other:?} is not one of \"starttls\", \"tls\", \"none\""),
            ));
        }
    };
    let port = c.port.unwrap_or(match tls {
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    if port == 0 {
        return Err(err("port", "must be between 1 and 65535"));
    }
    let credentials = match (&c.username, &c.password_file) {
        (None, None) => None,
        (Some(u), Some(f)) => Some((
            u.clone(),
            SmtpPassword(read_secret_file("smtp.password_file", f)?),
        )),
        (Some(_), None) => {
            return Err(err("password_file", "is required with smtp.username"));
        }
        (None, Some(_)) => return Err(err("username", "is required with smtp.password_file")),
    };
    let from: Mailbox = c.from.parse().map_err(|e| {
        err(
            "from",
            format!(
                "{:?} is not a mailbox like \"authgate <id@example.com>\" ({e})",
                c.from
            ),
        )
    })?;
    if !(1..=600).contains(&c.timeout_secs) {
        return Err(err("timeout_secs", "must be between 1 and 600"));
    }
    if !(1..=100).contains(&c.max_attempts) {
        return Err(err("max_attempts", "must be between 1 and 100"));
    }
    if !(1..=3600).contains(&c.retry_base_secs) {
        return Err(err("retry_base_secs", "must be between 1 and 3600"));
    }
    Ok(SmtpSettings {
        host: host.to_owned(),
        port,
        tls,
        credentials,
        from,
        timeout: Duration::from_secs(c.timeout_secs),
        max_attempts: c.max_attempts,
        retry_base_secs: c.retry_base_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: None,
            tls: default_tls(),
            username: None,
            password_file: None,
            from: "authgate <id@example.com>".into(),
            timeout_secs: 30,
            max_attempts: 10,
            retry_base_secs: 30,
        }
    }

    fn key_of(c: &SmtpConfig) -> String {
        match validate(c) {
            Ok(_) => "ok".into(),
            Err(e) => e.key,
        }
    }

    #[test]
    fn defaults_and_ports() {
        let s = validate(&cfg()).unwrap();
        assert_eq!((s.port, s.tls), (587, SmtpTls::StartTls));
        assert_eq!(s.from.email.to_string(), "id@example.com");
        let mut c = cfg();
        c.tls = "tls".into();
        assert_eq!(validate(&c).unwrap().port, 465);
    }

    #[test]
    fn clear_text_only_on_loopback() {
        let mut c = cfg();
        c.tls = "none".into();
        assert_eq!(key_of(&c), "smtp.tls");
        for host in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            c.host = host.into();
            assert_eq!(key_of(&c), "ok", "{host}");
        }
        c.tls = "ssl".into();
        assert_eq!(key_of(&c), "smtp.tls");
    }

    #[test]
    fn errors_name_the_key() {
        let mut c = cfg();
        c.from = "not a mailbox".into();
        assert_eq!(key_of(&c), "smtp.from");
        let mut c = cfg();
        c.from = "a <b@example.com>\r\nBcc: x@evil.example".into();
        assert_eq!(key_of(&c), "smtp.from");
        let mut c = cfg();
        c.username = Some("u".into());
        assert_eq!(key_of(&c), "smtp.password_file");
        let mut c = cfg();
        c.password_file = Some("/nonexistent/smtp-password".into());
        c.username = Some("u".into());
        assert_eq!(key_of(&c), "smtp.password_file");
        let mut c = cfg();
        c.timeout_secs = 0;
        assert_eq!(key_of(&c), "smtp.timeout_secs");
        let mut c = cfg();
        c.host = " ".into();
        assert_eq!(key_of(&c), "smtp.host");
    }

    #[test]
    fn password_from_file_is_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret-smtp\n").unwrap();
        let mut c = cfg();
        c.username = Some("mailer".into());
        c.password_file = Some(f);
        let s = validate(&c).unwrap();
        let (_, pw) = s.credentials.clone().unwrap();
        assert_eq!(pw.0, "s3cret-smtp");
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
