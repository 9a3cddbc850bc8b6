//! Revoked access tokens (by `jti`) and single-use nonces.

use crate::SqlStore;
use crate::codec::db_err;
use crate::dialect::Dialect;
use crate::query::sql;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_store::{AccessTokenRevocationStore, NonceStore, StoreResult};

#[async_trait]
impl<D: Dialect> AccessTokenRevocationStore for SqlStore<D> {
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO access_token_revocations (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = CASE \
             WHEN EXCLUDED.expires_at > access_token_revocations.expires_at \
             THEN EXCLUDED.expires_at ELSE access_token_revocations.expires_at END",
        )
        .arg(jti)
        .arg(expires_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("access token revocation"))?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        let found = sql::<D::Db>("SELECT 1 FROM access_token_revocations WHERE jti = $1")
            .arg(jti)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err("access token revocation"))?;
        Ok(found.is_some())
    }

    async fn purge_access_token_revocations(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sql::<D::Db>("DELETE FROM access_token_revocations WHERE expires_at < $1")
            .arg(before)
            .execute(self.db.writer())
            .await
            .map_err(db_err("access token revocation"))?;
        Ok(done)
    }
}

#[async_trait]
impl<D: Dialect> NonceStore for SqlStore<D> {
    async fn use_nonce(&self, key: &str, expires_at: UnixTime, now: UnixTime) -> StoreResult<bool> {
        // Inserted, or re-recorded over an expired one: 1 row; live: 0 rows.
        // Concurrent inserts of one key are arbitrated by the primary key.
        let done = sql::<D::Db>(
            "INSERT INTO nonces (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at <= $3",
        )
        .arg(key)
        .arg(expires_at)
        .arg(now)
        .execute(self.db.writer())
        .await
        .map_err(db_err("nonce"))?;
        if done > 0 && self.nonce_sweep_due() {
            // The trait has no purge for nonces: sweep expired ones now and then.
            sql::<D::Db>("DELETE FROM nonces WHERE expires_at <= $1")
                .arg(now)
                .execute(self.db.writer())
                .await
                .map_err(db_err("nonce"))?;
        }
        Ok(done > 0)
    }
}
