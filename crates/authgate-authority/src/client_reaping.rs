//! The record both purges of unused clients leave: dynamic clients
//! (`registration::reap_unused_clients`) and metadata document clients
//! (`cimd`).

use crate::Authority;

/// Logs and audits one purge of unused clients (`count` deleted, unused
/// for `ttl` seconds): dynamic ones (`kind` None, the original detail) or
/// metadata document ones (`kind` Some).
pub fn record_reaped(state: &Authority, count: u64, ttl: i64, kind: Option<&'static str>) {
    tracing::info!(
        reaped = count,
        kind = kind.unwrap_or("dynamic"),
        "deleted unused clients"
    );
    let mut detail = serde_json::json!({"count": count, "unused_for_secs": ttl});
    if let Some(k) = kind {
        detail["kind"] = serde_json::json!(k);
    }
    crate::audit::audit_detail(
        state,
        "clients.reaped",
        None,
        None,
        None,
        None,
        "success",
        detail,
    );
}
