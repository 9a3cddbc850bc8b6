//! Why an admin operation did not happen ([`AdminError`]), in terms the
//! API and the dashboard each map to their answer.

use authgate_store::StoreError;

/// Why an admin operation did not happen.
#[derive(Debug)]
pub enum AdminError {
    /// The input is wrong; `field` names what to fix.
    Invalid {
        field: String,
        description: String,
    },
    NotFound(String),
    /// The person's role does not allow this (an auditor writing...).
    Forbidden(String),
    /// The change conflicts with existing state (an id in use...).
    Conflict {
        field: String,
        description: String,
    },
    Store(StoreError),
    Internal(String),
}

impl AdminError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            description: description.into(),
        }
    }
    pub fn conflict(field: &str, description: impl Into<String>) -> Self {
        Self::Conflict {
            field: field.into(),
            description: description.into(),
        }
    }
    /// A message fit for a person (no backend details).
    pub fn message(&self) -> String {
        match self {
            Self::Invalid { field, description } | Self::Conflict { field, description } => {
                format!("{field}: {description}")
            }
            Self::NotFound(m) | Self::Forbidden(m) => m.clone(),
            Self::Store(_) | Self::Internal(_) => {
                "the server could not complete the request; try again".into()
            }
        }
    }
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } | Self::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<authgate_core::random::RandomError> for AdminError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Internal(e) => f.write_str(e),
            other => f.write_str(&other.message()),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
