//! The error every configuration check returns, and reading a secret from
//! a `*_file` key. A leaf: the configuration sections (`cimd`,
//! `registration`, `listener_config`, `net`, `keys`, `provision`) check
//! their own keys with it without depending on `config`, which gathers
//! them.

use std::path::Path;

/// A configuration error that names the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {reason}")]
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

/// The trimmed contents of the secret file `path` given for `key`; an
/// empty file is an error (a secret is never empty).
pub fn read_secret_file(key: &str, path: &Path) -> Result<String, ConfigError> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", path.display())))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        return Err(ConfigError::new(
            key,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(s)
}
