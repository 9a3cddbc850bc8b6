//! `[http]`: the limits of the HTTP listener (which lives in
//! `authgate-server`), here because the configuration is read here.

use crate::config_error::ConfigError;
use serde::{Deserialize, Serialize};

/// `[http]`: connection and request limits of the listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub header_read_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            idle_timeout_secs: 60,
            max_connections: 1024,
        }
    }
}

/// Checks `[http]`; errors name the key.
pub fn validate_config(c: &HttpConfig) -> Result<(), ConfigError> {
    for (key, v, min, max) in [
        (
            "header_read_timeout_ms",
            c.header_read_timeout_ms,
            50,
            300_000,
        ),
        ("request_timeout_ms", c.request_timeout_ms, 50, 600_000),
        ("idle_timeout_secs", c.idle_timeout_secs, 1, 3600),
        ("max_connections", c.max_connections as u64, 1, 1_000_000),
    ] {
        if !(min..=max).contains(&v) {
            return Err(ConfigError::new(
                format!("http.{key}"),
                format!("must be between {min} and {max}"),
            ));
        }
    }
    Ok(())
}
