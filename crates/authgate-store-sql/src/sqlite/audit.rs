//! Audit batches on SQLite: multi-row `INSERT`s in one transaction.

use crate::codec::db_err;
use authgate_core::model::AuditEvent;
use authgate_store::{StoreError, StoreResult};
use sqlx::SqlitePool;
use std::sync::OnceLock;

/// Most rows in one INSERT statement (8 bound values a row).
const MAX_STATEMENT_ROWS: usize = 64;

/// Rows for the next statement: the largest power of two that fits, so a
/// batch of any size uses only the few statement shapes `insert_sql` makes.
fn statement_rows(remaining: usize) -> usize {
    let below = 1usize << (usize::BITS - 1 - remaining.leading_zeros());
    below.min(MAX_STATEMENT_ROWS)
}

/// `INSERT … VALUES (…), (…)` for `rows` rows (a power of two up to
/// `MAX_STATEMENT_ROWS`), built once per shape.
fn insert_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..=MAX_STATEMENT_ROWS.trailing_zeros())
            .map(|shift| {
                let row = "(?, ?, ?, ?, ?, ?, ?, ?)";
                let values = vec![row; 1 << shift].join(", ");
                format!(
                    "INSERT INTO audit_events (at, event, actor, client_id, resource_id, \
                     address, outcome, detail) VALUES {values}"
                )
            })
            .collect()
    });
    &all[rows.trailing_zeros() as usize]
}

/// Appends `events` (not empty), in order.
pub(super) async fn append(writer: &SqlitePool, events: Vec<AuditEvent>) -> StoreResult<()> {
    // One transaction for the whole batch (each database page written
    // once), as multi-row INSERTs of 64, 32, …, 1 rows: at most seven
    // distinct statements, each prepared once and cached by sqlx.
    // Binding columns directly costs a fraction of what the earlier
    // `json_each` unpacking of one JSON array did (a twelfth of the
    // server's CPU under token load went to building, parsing and
    // re-extracting that JSON). The strings are bound by value: sqlx
    // keeps an owned `String` as it is and copies a borrowed one.
    let mut tx = writer.begin().await.map_err(db_err("audit event"))?;
    let mut rest = events.into_iter();
    while rest.len() > 0 {
        let rows = statement_rows(rest.len());
        let mut q = sqlx::query(insert_sql(rows));
        for e in rest.by_ref().take(rows) {
            let detail = serde_json::to_string(&e.detail)
                .map_err(|e| StoreError::Backend(format!("JSON encoding: {e}")))?;
            q = q
                .bind(e.at)
                .bind(e.event)
                .bind(e.actor)
                .bind(e.client_id)
                .bind(e.resource_id)
                .bind(e.address)
                .bind(e.outcome)
                .bind(detail);
        }
        q.execute(&mut *tx).await.map_err(db_err("audit event"))?;
    }
    tx.commit().await.map_err(db_err("audit event"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_few_statement_shapes() {
        let split = |mut n: usize| {
            let mut out = Vec::new();
            while n > 0 {
                let r = statement_rows(n);
                out.push(r);
                n -= r;
            }
            out
        };
        assert_eq!(split(1), [1]);
        assert_eq!(split(7), [4, 2, 1]);
        assert_eq!(split(64), [64]);
        assert_eq!(split(200), [64, 64, 64, 8]);
        for rows in [1, 2, 4, 8, 16, 32, 64] {
            let sql = insert_sql(rows);
            assert_eq!(sql.matches('?').count(), rows * 8, "{sql}");
        }
    }
}
