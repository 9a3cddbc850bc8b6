//! Administration: the JSON admin API (with its OpenAPI document), the
//! server-rendered dashboard, first-run setup and one-time password links,
//! (the connection check of an MCP server is `authgate_authority::check`).
//!
//! authgate protects its own API with its own tokens: a built-in resource
//! (`authgate-admin`, `{issuer}/admin/api/v1`, scope `authgate:admin`) is
//! provisioned at start-up, and a client credentials client allowed that
//! scope gets tokens the API accepts. The dashboard is for signed-in people
//! with a role that allows it (`manage::roles`). Both call the same operations (`authgate_authority::manage`), which validate,
//! write, invalidate caches and audit.

pub mod api;
pub mod dashboard;
pub mod setup;

use crate::state::SharedState;
use authgate_authority::config::Settings;
use axum::Router;

/// Every admin route: the API, the dashboard, setup and password links.
pub fn router(settings: &Settings) -> Router<SharedState> {
    let base = settings.issuer_path().to_owned();
    Router::new()
        .merge(api::router(&base))
        .merge(dashboard::router(&base))
        .merge(setup::router(&base))
}
