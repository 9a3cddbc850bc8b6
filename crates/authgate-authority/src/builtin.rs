//! The built-in resource that is authgate's own admin API: authgate
//! protects its API with its own tokens (`authgate-admin`,
//! `{issuer}/admin/api/v1`, scope `authgate:admin`), provisioned at
//! start-up.

use crate::config::Settings;
pub use crate::resource_ids::{ADMIN_RESOURCE_ID, is_builtin};
use authgate_core::clock::UnixTime;
use authgate_core::model::Resource;
use authgate_core::scope::ScopeDef;
use authgate_store::{Store, StoreResult};

/// The scope the admin API requires.
pub const ADMIN_SCOPE: &str = "authgate:admin";
/// Where the API lives, under the issuer path.
pub const API_PREFIX: &str = "/admin/api/v1";

/// The admin API's resource URL (the `aud` of its tokens).
pub fn api_uri(settings: &Settings) -> String {
    format!("{}{API_PREFIX}", settings.issuer)
}

/// The built-in resource as it should be for these settings.
fn admin_resource(settings: &Settings, existing: Option<&Resource>, now: UnixTime) -> Resource {
    Resource {
        id: ADMIN_RESOURCE_ID.into(),
        name: format!("{} admin API", settings.raw.instance_name),
        uri: api_uri(settings),
        scopes: vec![ScopeDef {
            name: ADMIN_SCOPE.into(),
            description: "Administer this authorization server: MCP servers, clients, people, signing keys and the audit log".into(),
            implies: vec![],
        }],
        default_scopes: vec![],
        access_token_ttl_secs: 900,
        refresh_token_idle_ttl_secs: 3600,
        refresh_token_absolute_ttl_secs: 8 * 3600,
        allow_dynamic_registration: false,
        allow_client_id_metadata_documents: false,
        allow_dynamic_client_credentials: false,
        documentation_uri: None,
        logo_uri: None,
        // The dashboard is for accounts an operator made.
        signup: authgate_core::model::SignupPolicy::Closed,
        created_at: existing.map(|e| e.created_at).unwrap_or(now),
        updated_at: existing.map(|e| e.updated_at).unwrap_or(now),
    }
}

/// Makes sure the built-in admin resource exists and matches the issuer
/// (idempotent: an unchanged row is not rewritten).
pub async fn ensure_admin_resource(
    store: &dyn Store,
    settings: &Settings,
    now: UnixTime,
) -> StoreResult<()> {
    let existing = store.get_resource(ADMIN_RESOURCE_ID).await?;
    let mut want = admin_resource(settings, existing.as_ref(), now);
    if existing.as_ref() == Some(&want) {
        return Ok(());
    }
    want.updated_at = now;
    store.upsert_resource(&want).await
}
