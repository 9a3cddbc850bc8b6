//! Management commands on the local store run the admin operations
//! (`admin::ops`), as the admin API does: the same validation, cache
//! invalidation and audit rows. Lists and shows read the store directly:
//! building the server's state (keys, provisioning) is for changes.

use super::error::CliError;
use crate::state::SharedState;
use authgate_authority::config::Settings;
use authgate_authority::manage::{Actor, AdminError};
use authgate_core::clock::{Clock, SystemClock};
use authgate_core::random::{OsRandom, Random};
use std::sync::Arc;

/// The server's state built over the configured store, for one command.
pub(super) struct Local {
    pub state: SharedState,
    audit: tokio::task::JoinHandle<()>,
}

impl Local {
    pub async fn open(settings: &Settings) -> Result<Self, CliError> {
        let store = open_store(settings).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let rng: Arc<dyn Random> = Arc::new(OsRandom::new());
        let (state, audit) = crate::serve::build_state(settings.clone(), store, clock, rng)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        Ok(Self { state, audit })
    }

    /// Waits until the command's audit events are written.
    pub async fn finish(self) {
        drop(self.state);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.audit).await;
    }

    /// Runs `f` on the state, then waits for its audit events whatever
    /// the outcome.
    pub async fn run<T, F>(settings: &Settings, f: F) -> Result<T, CliError>
    where
        F: AsyncFnOnce(&SharedState) -> Result<T, CliError>,
    {
        let local = Self::open(settings).await?;
        let result = f(&local.state).await;
        local.finish().await;
        result
    }
}

/// Who a local command acts as in the audit log: `cli`, and as its
/// address the operating-system user running it (the command has no
/// network address).
pub(super) fn actor() -> Actor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty());
    Actor {
        name: "cli".into(),
        address: Some(match user {
            Some(u) => format!("local ({u})"),
            None => "local".into(),
        }),
        user_id: None,
    }
}

/// The operation's message (with a store failure's details: the person
/// running the command is the operator).
pub(super) fn admin_err(e: AdminError) -> CliError {
    CliError(e.to_string())
}

/// The configured store, opened for reading or for [`Local`].
pub(crate) async fn open_store(
    settings: &Settings,
) -> Result<std::sync::Arc<dyn authgate_store::Store>, CliError> {
    authgate_authority::store_open::open(&settings.database_url)
        .await
        .map_err(|e| CliError(authgate_authority::store_open::open_failure(&e)))
}

/// Now, by the system clock.
pub(crate) fn now() -> i64 {
    SystemClock.now()
}
