//! `[mfa]` in the configuration file.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Every local password sign-in needs a second factor; a person with
    /// none must enrol one before the sign-in completes.
    pub required: bool,
}

#[cfg(test)]
mod tests {
    use crate::config::{Overrides, load};

    fn error_for(toml: &str) -> crate::config_error::ConfigError {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authgate.toml");
        std::fs::write(&path, format!("listen = \"127.0.0.1:9\"\n{toml}")).unwrap();
        match load(Some(&path), &Overrides::default()) {
            Ok(_) => panic!("{toml:?} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn mfa_required_is_read_and_off_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authgate.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9\"\n").unwrap();
        let s = load(Some(&path), &Overrides::default()).unwrap();
        assert!(!s.raw.mfa.required);
        std::fs::write(&path, "listen = \"127.0.0.1:9\"\n[mfa]\nrequired = true\n").unwrap();
        let s = load(Some(&path), &Overrides::default()).unwrap();
        assert!(s.raw.mfa.required);
    }

    #[test]
    fn an_unknown_key_or_a_bad_value_names_the_key() {
        let e = error_for("[mfa]\nrequird = true\n");
        assert_eq!(e.key, "mfa.requird", "{e:?}");
        assert!(e.reason.contains("`required`"), "{e:?}");
        let e = error_for("[mfa]\nrequired = \"yes\"\n");
        assert_eq!(e.key, "mfa.required", "{e:?}");
    }
}
