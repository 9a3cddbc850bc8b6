//! The application state every handler shares.

use std::sync::Arc;

/// The application state every handler shares (see
/// `authgate_authority::Authority`).
pub type AppState = authgate_authority::Authority;

pub type SharedState = Arc<AppState>;
