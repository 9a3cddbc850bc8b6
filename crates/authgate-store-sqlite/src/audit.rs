//! The audit log.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::AuditEvent;
use authgate_store::{AuditStore, StoreResult};
use sqlx::sqlite::SqliteRow;

fn from_row(row: &SqliteRow) -> StoreResult<AuditEvent> {
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
impl AuditStore for SqliteStore {
    async fn append_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        // The whole batch is one statement (one round trip to the writer
        // connection's thread, one implicit transaction): the events travel
        // as one JSON array of rows that `json_each` unpacks in order, so
        // ids follow the slice order.
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            rows.push(serde_json::json!([
                e.at,
                e.event,
                e.actor,
                e.client_id,
                e.resource_id,
                e.address,
                e.outcome,
                to_json(&e.detail)?,
            ]));
        }
        sqlx::query(
            "INSERT INTO audit_events (at, event, actor, client_id, resource_id, address, \
             outcome, detail) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
                    value ->> 5, value ->> 6, value ->> 7 \
             FROM json_each(?) ORDER BY key",
        )
        .bind(to_json(&rows)?)
        .execute(&self.writer)
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
        // Case-insensitive (ASCII) substring match; instr() needs no LIKE
        // escaping.
        let needle = query.filter(|q| !q.is_empty());
        sqlx::query(
            "SELECT id, at, event, actor, client_id, resource_id, address, outcome, detail \
             FROM audit_events \
             WHERE (?1 IS NULL OR id < ?1) \
               AND (?2 IS NULL OR instr(lower(event), lower(?2)) > 0 \
                    OR instr(lower(coalesce(actor, '')), lower(?2)) > 0 \
                    OR instr(lower(coalesce(client_id, '')), lower(?2)) > 0 \
                    OR instr(lower(coalesce(resource_id, '')), lower(?2)) > 0) \
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(before_id)
        .bind(needle)
        .bind(limit.max(0))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err("audit event"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn purge_audit_events(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < ?")
            .bind(before)
            .execute(&self.writer)
            .await
            .map_err(db_err("audit event"))?;
        Ok(done.rows_affected())
    }
}
