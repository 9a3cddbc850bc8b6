//! TOTP authenticators and recovery codes (see [`MfaStore`]).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::TotpRecord;
use authgate_store::{MfaStore, StoreResult};

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<TotpRecord> {
    Ok(TotpRecord {
        user_id: col(row, "user_id")?,
        id: col(row, "id")?,
        secret_sealed: col(row, "secret_sealed")?,
        created_at: col(row, "created_at")?,
        confirmed_at: col(row, "confirmed_at")?,
        last_used_step: col(row, "last_used_step")?,
    })
}

#[async_trait]
impl<D: Dialect> MfaStore for SqlStore<D> {
    async fn begin_totp(&self, t: &TotpRecord) -> StoreResult<bool> {
        // The WHERE of the upsert keeps a confirmed authenticator: then no
        // row changes and the caller learns it.
        let done = sql::<D::Db>(
            "INSERT INTO totp_secrets (user_id, id, secret_sealed, created_at, confirmed_at, \
             last_used_step) VALUES ($1, $2, $3, $4, NULL, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, \
             secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, \
             confirmed_at = NULL, last_used_step = NULL \
             WHERE totp_secrets.confirmed_at IS NULL",
        )
        .arg(&t.user_id)
        .arg(&t.id)
        .arg(&t.secret_sealed)
        .arg(t.created_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("totp"))?;
        Ok(done > 0)
    }

    async fn get_totp(&self, user_id: &str) -> StoreResult<Option<TotpRecord>> {
        sql::<D::Db>(
            "SELECT user_id, id, secret_sealed, created_at, confirmed_at, last_used_step \
             FROM totp_secrets WHERE user_id = $1",
        )
        .arg(user_id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("totp"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn confirm_totp(
        &self,
        user_id: &str,
        id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE totp_secrets SET confirmed_at = $1, last_used_step = $2 \
             WHERE user_id = $3 AND id = $4 AND confirmed_at IS NULL",
        )
        .arg(now)
        .arg(step)
        .arg(user_id)
        .arg(id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("totp"))?;
        Ok(done > 0)
    }

    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE totp_secrets SET last_used_step = $1 \
             WHERE user_id = $2 AND confirmed_at IS NOT NULL \
             AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .arg(step)
        .arg(user_id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("totp"))?;
        Ok(done > 0)
    }

    async fn delete_totp(&self, user_id: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM totp_secrets WHERE user_id = $1")
            .arg(user_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("totp"))?;
        Ok(done > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_hashes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self
            .db
            .begin_write()
            .await
            .map_err(db_err("recovery code"))?;
        sql::<D::Db>("DELETE FROM recovery_codes WHERE user_id = $1")
            .arg(user_id)
            .execute_in(&mut tx)
            .await
            .map_err(db_err("recovery code"))?;
        for h in code_hashes {
            sql::<D::Db>(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) \
                 VALUES ($1, $2, $3, NULL)",
            )
            .arg(user_id)
            .arg(h)
            .arg(now)
            .execute_in(&mut tx)
            .await
            .map_err(db_err("recovery code"))?;
        }
        tx.commit().await.map_err(db_err("recovery code"))?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .arg(now)
        .arg(user_id)
        .arg(code_hash)
        .execute(self.db.writer())
        .await
        .map_err(db_err("recovery code"))?;
        Ok(done > 0)
    }

    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64> {
        let row = sql::<D::Db>(
            "SELECT count(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .arg(user_id)
        .fetch_one(self.db.reader())
        .await
        .map_err(db_err("recovery code"))?;
        let n: i64 = col(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn delete_recovery_codes(&self, user_id: &str) -> StoreResult<u64> {
        sql::<D::Db>("DELETE FROM recovery_codes WHERE user_id = $1")
            .arg(user_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("recovery code"))
    }
}
