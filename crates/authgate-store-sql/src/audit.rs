//! The audit log. Appending is each dialect's own (see
//! `sqlite/audit.rs`, `postgres/audit.rs`); so is the substring search of
//! [`Dialect::LIST_AUDIT_EVENTS`].

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::AuditEvent;
use authgate_store::{AuditFilter, AuditStore, StoreResult};

/// Audit events matching `$filter`, newest first: the filter tests `$1`
/// (the id to page before, or NULL) and `$2` (the case-insensitive
/// substring to find, or NULL) with the dialect's own substring function,
/// and `$5` (actors) and `$6` (outcomes) with its own list membership;
/// `$3` is the limit. The event prefix (`$4`) and the time range (`$7`,
/// `$8`) are tested the same way on every database.
macro_rules! list_audit_events {
    ($filter:literal) => {
        concat!(
            "SELECT id, at, event, actor, client_id, resource_id, address, outcome, detail \
             FROM audit_events WHERE ",
            $filter,
            " AND (CAST($4 AS TEXT) IS NULL OR substr(event, 1, length($4)) = $4) \
             AND (CAST($7 AS BIGINT) IS NULL OR at >= $7) \
             AND (CAST($8 AS BIGINT) IS NULL OR at < $8) \
             ORDER BY id DESC LIMIT $3"
        )
    };
}
pub(crate) use list_audit_events;

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: col(row, "id")?,
        at: col(row, "at")?,
        event: col(row, "event")?,
        actor: col(row, "actor")?,
        client_id: col(row, "client_id")?,
        resource_id: col(row, "resource_id")?,
        address: col(row, "address")?,
        outcome: col(row, "outcome")?,
        detail: D::Db::json_col(row, "detail")?,
    })
}

/// A filter's text, unless empty (an empty search matches everything).
fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

#[async_trait]
impl<D: Dialect> AuditStore for SqlStore<D> {
    async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.db.append_audit_events(events).await
    }

    async fn find_audit_events(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        sql::<D::Db>(D::LIST_AUDIT_EVENTS)
            .arg(before_id)
            .arg(nonempty(&filter.text))
            .arg(limit.max(0))
            .arg(nonempty(&filter.event_prefix))
            .opt_list(filter.actors.as_deref())
            .opt_list(filter.outcomes.as_deref())
            .arg(filter.from)
            .arg(filter.until)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err("audit event"))?
            .iter()
            .map(from_row::<D>)
            .collect()
    }

    async fn purge_audit_events(&self, before: UnixTime) -> StoreResult<u64> {
        sql::<D::Db>("DELETE FROM audit_events WHERE at < $1")
            .arg(before)
            .execute(self.db.writer())
            .await
            .map_err(db_err("audit event"))
    }
}
