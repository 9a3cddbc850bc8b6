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
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("audit event"))?;
        for e in events {
            sqlx::query(
                "INSERT INTO audit_events (at, event, actor, client_id, resource_id, address, \
                 outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.at)
            .bind(&e.event)
            .bind(&e.actor)
            .bind(&e.client_id)
            .bind(&e.resource_id)
            .bind(&e.address)
            .bind(&e.outcome)
            .bind(to_json(&e.detail)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err("audit event"))?;
        }
        tx.commit().await.map_err(db_err("audit event"))
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
