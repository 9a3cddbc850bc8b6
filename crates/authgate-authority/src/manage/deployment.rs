//! What the dashboard's deployment checklist knows beyond the
//! configuration: facts kept in the store (see `FactStore`) — that an
//! operator confirmed the key-encryption key is backed up, and each MCP
//! server's last connection check.

use super::actor::{Actor, record};
use super::error::AdminResult;
use crate::Authority;
use crate::manage::types::CheckReport;
use authgate_core::clock::UnixTime;
use authgate_core::model::Resource;
use serde_json::json;

/// The fact: an operator confirmed the key-encryption key is backed up.
pub const KEK_BACKUP_FACT: &str = "kek_backup_confirmed";
/// The facts `connection_check:<resource id>`: its last check.
pub const CHECK_FACT_PREFIX: &str = "connection_check:";

/// Runs the connection check of `r` for `actor`, audits it and keeps its
/// result for the checklist (a failure to keep it is logged: the report
/// is still the operator's answer).
pub async fn check_resource(state: &Authority, actor: &Actor, r: &Resource) -> CheckReport {
    let report = crate::check::run(state, r).await;
    let failed: Vec<&str> = report
        .points
        .iter()
        .filter(|p| !p.ok)
        .map(|p| p.id.as_str())
        .collect();
    crate::audit::audit_detail(
        state,
        "admin.resource.checked",
        Some(&actor.name),
        None,
        Some(&r.id),
        actor.address.as_deref(),
        if report.ok { "ok" } else { "failed" },
        json!({ "failed": failed }),
    );
    let fact = json!({ "ok": report.ok, "failed": failed });
    let key = format!("{CHECK_FACT_PREFIX}{}", r.id);
    if let Err(e) = state.store.put_fact(&key, &fact, state.clock.now()).await {
        tracing::warn!(error = %e, resource = %r.id, "could not keep the connection check result");
    }
    report
}

/// Records that `actor` confirmed the key-encryption key is backed up.
pub async fn confirm_kek_backup(state: &Authority, actor: &Actor) -> AdminResult<()> {
    let fact = json!({ "by": actor.name });
    state
        .store
        .put_fact(KEK_BACKUP_FACT, &fact, state.clock.now())
        .await?;
    record(
        state,
        actor,
        "admin.key_encryption_key.backup_confirmed",
        None,
        None,
        serde_json::Value::Null,
    );
    Ok(())
}

/// The checklist's state beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct DeploymentFacts {
    /// Who confirmed the key-encryption key backup, and when.
    pub kek_backup: Option<(String, UnixTime)>,
    /// The last connection check of each MCP server: (id, passed, when).
    pub checks: Vec<(String, bool, UnixTime)>,
}

pub async fn deployment_facts(state: &Authority) -> AdminResult<DeploymentFacts> {
    let kek_backup = state.store.get_fact(KEK_BACKUP_FACT).await?.map(|f| {
        let by = f.value["by"].as_str().unwrap_or("an operator").to_owned();
        (by, f.at)
    });
    let checks = state
        .store
        .list_facts(CHECK_FACT_PREFIX)
        .await?
        .into_iter()
        .filter_map(|f| {
            let id = f.key.strip_prefix(CHECK_FACT_PREFIX)?.to_owned();
            Some((id, f.value["ok"].as_bool() == Some(true), f.at))
        })
        .collect();
    Ok(DeploymentFacts { kek_backup, checks })
}
