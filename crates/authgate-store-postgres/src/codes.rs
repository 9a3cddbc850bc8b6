//! Authorization codes, stored by hash and redeemed once.

use crate::PostgresStore;
use crate::codec::{col, db_err};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuthorizationCode, CodeRedemption};
use authgate_store::{AuthorizationCodeStore, StoreResult};
use sqlx::postgres::PgRow;

macro_rules! cols {
    () => {
        "code_hash, client_id, redirect_uri, code_challenge, resource_id, scopes, user_id, \
         auth_time, nonce, grant_id, expires_at, consumed_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: col(row, "code_hash")?,
        client_id: col(row, "client_id")?,
        redirect_uri: col(row, "redirect_uri")?,
        code_challenge: col(row, "code_challenge")?,
        resource_id: col(row, "resource_id")?,
        scopes: col(row, "scopes")?,
        user_id: col(row, "user_id")?,
        auth_time: col(row, "auth_time")?,
        nonce: col(row, "nonce")?,
        grant_id: col(row, "grant_id")?,
        expires_at: col(row, "expires_at")?,
        consumed_at: col(row, "consumed_at")?,
    })
}

#[async_trait]
impl AuthorizationCodeStore for PostgresStore {
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO authorization_codes (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.resource_id)
        .bind(&c.scopes)
        .bind(&c.user_id)
        .bind(c.auth_time)
        .bind(&c.nonce)
        .bind(&c.grant_id)
        .bind(c.expires_at)
        .bind(c.consumed_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("authorization code"))?;
        Ok(())
    }

    async fn redeem_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<CodeRedemption> {
        // Concurrent callers queue on the row lock; once the winner commits,
        // PostgreSQL re-checks `consumed_at IS NULL` for the others.
        let redeemed = sqlx::query(concat!(
            "UPDATE authorization_codes SET consumed_at = $1 \
             WHERE code_hash = $2 AND consumed_at IS NULL RETURNING ",
            cols!()
        ))
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("authorization code"))?;
        if let Some(row) = redeemed {
            return Ok(CodeRedemption::Redeemed(from_row(&row)?));
        }
        // Consumed codes never change again, so reading after is safe.
        let existing = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM authorization_codes WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("authorization code"))?;
        Ok(match existing {
            Some(row) => CodeRedemption::Replayed(from_row(&row)?),
            None => CodeRedemption::NotFound,
        })
    }

    async fn purge_codes(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_err("authorization code"))?;
        Ok(done.rows_affected())
    }
}
