//! Revoked access tokens (by `jti`) and single-use nonces.

use crate::PostgresStore;
use crate::codec::db_err;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_store::{AccessTokenRevocationStore, NonceStore, StoreResult};

#[async_trait]
impl AccessTokenRevocationStore for PostgresStore {
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_token_revocations (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE SET \
             expires_at = greatest(access_token_revocations.expires_at, EXCLUDED.expires_at)",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("access token revocation"))?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM access_token_revocations WHERE jti = $1)")
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err("access token revocation"))
    }

    async fn purge_access_token_revocations(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM access_token_revocations WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_err("access token revocation"))?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl NonceStore for PostgresStore {
    async fn use_nonce(&self, key: &str, expires_at: UnixTime, now: UnixTime) -> StoreResult<bool> {
        // Inserted, or re-recorded over an expired one: 1 row; live: 0 rows.
        // Concurrent inserts of one key are arbitrated by the primary key.
        let done = sqlx::query(
            "INSERT INTO nonces (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $3",
        )
        .bind(key)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err("nonce"))?;
        if done.rows_affected() > 0 && self.nonce_sweep_due() {
            // The trait has no purge for nonces: sweep expired ones now and then.
            sqlx::query("DELETE FROM nonces WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err("nonce"))?;
        }
        Ok(done.rows_affected() > 0)
    }
}
