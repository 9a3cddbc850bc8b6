//! The admin operations, shared by the API and the dashboard: validate
//! (errors name the field), write, invalidate caches, audit. Nothing here
//! knows about HTTP.

pub mod types;

use crate::Authority;
use authgate_store::StoreError;
use serde_json::Value;

/// Why an admin operation did not happen.
#[derive(Debug)]
pub enum AdminError {
    /// The input is wrong; `field` names what to fix.
    Invalid {
        field: String,
        description: String,
    },
    NotFound(String),
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
            Self::NotFound(m) => m.clone(),
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

/// Who is making a change (for the audit log).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `client:<id>` for API tokens, the person's email for the dashboard.
    pub name: String,
    pub address: Option<String>,
}

fn record(
    state: &Authority,
    actor: &Actor,
    event: &str,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    detail: Value,
) {
    crate::audit::audit_detail(
        state,
        event,
        Some(&actor.name),
        client_id,
        resource_id,
        actor.address.as_deref(),
        "ok",
        detail,
    );
}

/// One page of a list in stable order.
pub fn page<T>(all: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, usize, Option<usize>) {
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(offset).take(limit).collect();
    let next = (offset + items.len() < total).then_some(offset + items.len());
    (items, total, next)
}

mod clients;
mod keys;
mod resources;
mod users;

pub use clients::*;
pub use keys::*;
pub use resources::*;
pub use users::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        let (items, total, next) = page((0..5).collect::<Vec<_>>(), 0, 2);
        assert_eq!((items, total, next), (vec![0, 1], 5, Some(2)));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 4, 2);
        assert_eq!((items, next), (vec![4], None));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 9, 2);
        assert_eq!((items, next), (vec![], None));
    }
}
