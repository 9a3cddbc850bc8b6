//! Authorization codes, stored by hash and redeemed once.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuthContext, AuthorizationCode, CodeRedemption};
use authgate_store::{AuthorizationCodeStore, StoreResult};

macro_rules! cols {
    () => {
        "code_hash, client_id, redirect_uri, code_challenge, resource_id, scopes, user_id, \
         auth_time, nonce, grant_id, expires_at, consumed_at, amr, idp, org_id"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: col(row, "code_hash")?,
        client_id: col(row, "client_id")?,
        redirect_uri: col(row, "redirect_uri")?,
        code_challenge: col(row, "code_challenge")?,
        resource_id: col(row, "resource_id")?,
        scopes: D::Db::list_col(row, "scopes")?,
        user_id: col(row, "user_id")?,
        auth_time: col(row, "auth_time")?,
        nonce: col(row, "nonce")?,
        grant_id: col(row, "grant_id")?,
        expires_at: col(row, "expires_at")?,
        consumed_at: col(row, "consumed_at")?,
        auth: AuthContext {
            amr: D::Db::list_col(row, "amr")?,
            idp: col(row, "idp")?,
            org_id: col(row, "org_id")?,
        },
    })
}

#[async_trait]
impl<D: Dialect> AuthorizationCodeStore for SqlStore<D> {
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO authorization_codes (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .arg(&c.code_hash)
        .arg(&c.client_id)
        .arg(&c.redirect_uri)
        .arg(&c.code_challenge)
        .arg(&c.resource_id)
        .list(&c.scopes)
        .arg(&c.user_id)
        .arg(c.auth_time)
        .arg(&c.nonce)
        .arg(&c.grant_id)
        .arg(c.expires_at)
        .arg(c.consumed_at)
        .list(&c.auth.amr)
        .arg(&c.auth.idp)
        .arg(&c.auth.org_id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("authorization code"))?;
        Ok(())
    }

    async fn redeem_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<CodeRedemption> {
        // One statement, atomic on either backend, and the RETURNING row is
        // the redeemed code: on SQLite it runs on the single writer
        // connection; on PostgreSQL concurrent callers queue on the row
        // lock, and once the winner commits PostgreSQL re-checks
        // `consumed_at IS NULL` for the others.
        let redeemed = sql::<D::Db>(concat!(
            "UPDATE authorization_codes SET consumed_at = $1 \
             WHERE code_hash = $2 AND consumed_at IS NULL RETURNING ",
            cols!()
        ))
        .arg(now)
        .arg(code_hash)
        .fetch_optional(self.db.writer())
        .await
        .map_err(db_err("authorization code"))?;
        if let Some(row) = redeemed {
            return Ok(CodeRedemption::Redeemed(from_row::<D>(&row)?));
        }
        // Consumed codes never change again, so reading after is safe.
        let existing = sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM authorization_codes WHERE code_hash = $1"
        ))
        .arg(code_hash)
        .fetch_optional(self.db.writer())
        .await
        .map_err(db_err("authorization code"))?;
        Ok(match existing {
            Some(row) => CodeRedemption::Replayed(from_row::<D>(&row)?),
            None => CodeRedemption::NotFound,
        })
    }

    async fn purge_codes(&self, before: UnixTime) -> StoreResult<u64> {
        let done = sql::<D::Db>("DELETE FROM authorization_codes WHERE expires_at < $1")
            .arg(before)
            .execute(self.db.writer())
            .await
            .map_err(db_err("authorization code"))?;
        Ok(done)
    }
}
