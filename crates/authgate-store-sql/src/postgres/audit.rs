//! Audit batches on PostgreSQL: one `INSERT … SELECT FROM unnest(…)`.

use crate::codec::db_err;
use authgate_core::model::AuditEvent;
use authgate_store::StoreResult;
use sqlx::PgPool;
use sqlx::types::Json;

/// Appends `events` (not empty) in one statement; ids follow their order.
pub(super) async fn append(pool: &PgPool, events: Vec<AuditEvent>) -> StoreResult<()> {
    let at: Vec<i64> = events.iter().map(|e| e.at).collect();
    let event: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let actor: Vec<Option<&str>> = events.iter().map(|e| e.actor.as_deref()).collect();
    let client: Vec<Option<&str>> = events.iter().map(|e| e.client_id.as_deref()).collect();
    let resource: Vec<Option<&str>> = events.iter().map(|e| e.resource_id.as_deref()).collect();
    let address: Vec<Option<&str>> = events.iter().map(|e| e.address.as_deref()).collect();
    let outcome: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
    let detail: Vec<Json<&serde_json::Value>> = events.iter().map(|e| Json(&e.detail)).collect();
    sqlx::query(
        "INSERT INTO audit_events (at, event, actor, client_id, resource_id, address, \
         outcome, detail) \
         SELECT at, event, actor, client_id, resource_id, address, outcome, detail \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                     $6::text[], $7::text[], $8::jsonb[]) WITH ORDINALITY \
              AS e(at, event, actor, client_id, resource_id, address, outcome, detail, n) \
         ORDER BY n",
    )
    .bind(at)
    .bind(event)
    .bind(actor)
    .bind(client)
    .bind(resource)
    .bind(address)
    .bind(outcome)
    .bind(detail)
    .execute(pool)
    .await
    .map_err(db_err("audit event"))?;
    Ok(())
}
