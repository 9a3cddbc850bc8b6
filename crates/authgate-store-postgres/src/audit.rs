//! The audit log.

use crate::PostgresStore;
use crate::codec::{col, db_err, json_col};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::AuditEvent;
use authgate_store::{AuditStore, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

fn from_row(row: &PgRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: col(row, "id")?,
        at: col(row, "at")?,
        event: col(row, "event")?,
        actor: col(row, "actor")?,
        client_id: col(row, "client_id")?,
        resource_id: col(row, "resource_id")?,
        address: col(row, "address")?,
        outcome: col(row, "outcome")?,
        detail: json_col(row, "detail")?,
    })
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement for the batch; ids follow the slice order.
        let at: Vec<i64> = events.iter().map(|e| e.at).collect();
        let event: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        let actor: Vec<Option<&str>> = events.iter().map(|e| e.actor.as_deref()).collect();
        let client: Vec<Option<&str>> = events.iter().map(|e| e.client_id.as_deref()).collect();
        let resource: Vec<Option<&str>> = events.iter().map(|e| e.resource_id.as_deref()).collect();
        let address: Vec<Option<&str>> = events.iter().map(|e| e.address.as_deref()).collect();
        let outcome: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
        let detail: Vec<Json<&serde_json::Value>> =
            events.iter().map(|e| Json(&e.detail)).collect();
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
        .execute(&self.pool)
        .await
        .map_err(db_err("audit event"))?;
        Ok(())
    }

    async fn list_audit_events(
        &self,
        query: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        // Case-insensitive substring match; strpos() needs no LIKE escaping.
        let needle = query.filter(|q| !q.is_empty());
        sqlx::query(
            "SELECT id, at, event, actor, client_id, resource_id, address, outcome, detail \
             FROM audit_events \
             WHERE ($1::bigint IS NULL OR id < $1) \
               AND ($2::text IS NULL OR strpos(lower(event), lower($2)) > 0 \
                    OR strpos(lower(actor), lower($2)) > 0 \
                    OR strpos(lower(client_id), lower($2)) > 0 \
                    OR strpos(lower(resource_id), lower($2)) > 0) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(before_id)
        .bind(needle)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("audit event"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn purge_audit_events(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_err("audit event"))?;
        Ok(done.rows_affected())
    }
}
