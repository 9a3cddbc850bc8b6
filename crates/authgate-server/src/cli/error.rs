//! The CLI's one error type.

/// A command failure, printed as `authgate: <message>`.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<authgate_core::random::RandomError> for CliError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        CliError(e.to_string())
    }
}

impl From<authgate_authority::passwords::HashError> for CliError {
    fn from(e: authgate_authority::passwords::HashError) -> Self {
        CliError(e.to_string())
    }
}

impl From<authgate_store::StoreError> for CliError {
    fn from(e: authgate_store::StoreError) -> Self {
        CliError(e.to_string())
    }
}
