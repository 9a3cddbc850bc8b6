//! Reaping dynamic clients nobody used for `unused_client_ttl_secs`.

use crate::Authority;

/// Deletes dynamic clients not used within `unused_client_ttl_secs`
/// (periodic job). Returns how many.
pub async fn reap_unused_clients(state: &Authority) -> Result<u64, authgate_store::StoreError> {
    state.registry.flush_usage(state.store.as_ref()).await;
    let ttl = state
        .settings
        .raw
        .dynamic_registration
        .unused_client_ttl_secs;
    let n = state
        .store
        .reap_dynamic_clients(state.clock.now().saturating_sub(ttl))
        .await?;
    if n > 0 {
        crate::client_reaping::record_reaped(state, n, ttl, None);
    }
    Ok(n)
}
