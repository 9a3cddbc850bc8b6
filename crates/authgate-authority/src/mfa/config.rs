//! `[mfa]` in the configuration file.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Every local password sign-in needs a second factor; a person with
    /// none must enrol one before the sign-in completes.
    pub required: bool,
}
