//! The mail outbox (see [`OutboxStore`]). A claim is a conditional
//! UPDATE per message (still due, unleased or lease expired): on either
//! database only one of two racing workers changes the row, and only the
//! worker whose UPDATE changed it sends the message.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::OutboxMessage;
use authgate_store::{OutboxStore, StoreResult};

macro_rules! cols {
    () => {
        "id, kind, recipient, payload, sealed, attempts, next_attempt_at, lease_until, \
         sent_at, failed_at, last_error, created_at"
    };
}

/// A message due at `$1`: neither sent nor given up, its time come, and
/// no live lease on it.
macro_rules! due {
    () => {
        "sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
         AND (lease_until IS NULL OR lease_until <= $1)"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: col(row, "id")?,
        kind: col(row, "kind")?,
        recipient: col(row, "recipient")?,
        payload: col(row, "payload")?,
        sealed: col(row, "sealed")?,
        attempts: col(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        lease_until: col(row, "lease_until")?,
        sent_at: col(row, "sent_at")?,
        failed_at: col(row, "failed_at")?,
        last_error: col(row, "last_error")?,
        created_at: col(row, "created_at")?,
    })
}

/// How many candidates a claim looks at per message it wants: others may
/// take some of them first.
const CANDIDATES_PER_CLAIM: i64 = 2;

#[async_trait]
impl<D: Dialect> OutboxStore for SqlStore<D> {
    async fn enqueue_mail(&self, m: &OutboxMessage) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO mail_outbox (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .arg(&m.id)
        .arg(&m.kind)
        .arg(&m.recipient)
        .arg(&m.payload)
        .arg(m.sealed)
        .arg(m.attempts)
        .arg(m.next_attempt_at)
        .arg(m.lease_until)
        .arg(m.sent_at)
        .arg(m.failed_at)
        .arg(&m.last_error)
        .arg(m.created_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("mail"))?;
        Ok(())
    }

    async fn claim_mail(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let candidates: Vec<String> = sql::<D::Db>(concat!(
            "SELECT id FROM mail_outbox WHERE ",
            due!(),
            " ORDER BY next_attempt_at, id LIMIT $2"
        ))
        .arg(now)
        .arg(limit.saturating_mul(CANDIDATES_PER_CLAIM))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("mail"))?
        .iter()
        .map(|r| col(r, "id"))
        .collect::<StoreResult<_>>()?;
        let mut claimed = Vec::new();
        for id in candidates {
            if i64::try_from(claimed.len()).unwrap_or(i64::MAX) >= limit {
                break;
            }
            // The WHERE repeats the due test: the row changes only if no
            // one claimed it since it was read.
            let won = sql::<D::Db>(concat!(
                "UPDATE mail_outbox SET lease_until = $2 WHERE id = $3 AND ",
                due!()
            ))
            .arg(now)
            .arg(lease_until)
            .arg(&id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("mail"))?;
            if won == 1
                && let Some(m) = self.get_mail(&id).await?
            {
                claimed.push(m);
            }
        }
        Ok(claimed)
    }

    async fn mark_mail_sent(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE mail_outbox SET sent_at = $1, lease_until = NULL, last_error = NULL \
             WHERE id = $2",
        )
        .arg(now)
        .arg(id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("mail"))?;
        Ok(done > 0)
    }

    async fn reschedule_mail(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: UnixTime,
        error: &str,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2, lease_until = NULL, \
             last_error = $3 WHERE id = $4",
        )
        .arg(attempts)
        .arg(next_attempt_at)
        .arg(error)
        .arg(id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("mail"))?;
        Ok(done > 0)
    }

    async fn give_up_mail(
        &self,
        id: &str,
        attempts: i64,
        now: UnixTime,
        error: &str,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE mail_outbox SET attempts = $1, failed_at = $2, lease_until = NULL, \
             last_error = $3 WHERE id = $4",
        )
        .arg(attempts)
        .arg(now)
        .arg(error)
        .arg(id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("mail"))?;
        Ok(done > 0)
    }

    async fn get_mail(&self, id: &str) -> StoreResult<Option<OutboxMessage>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM mail_outbox WHERE id = $1"
        ))
        .arg(id)
        .fetch_optional(self.db.writer())
        .await
        .map_err(db_err("mail"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn purge_mail(&self, before: UnixTime) -> StoreResult<u64> {
        sql::<D::Db>(
            "DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL AND sent_at < $1) \
             OR (failed_at IS NOT NULL AND failed_at < $1)",
        )
        .arg(before)
        .execute(self.db.writer())
        .await
        .map_err(db_err("mail"))
    }
}
