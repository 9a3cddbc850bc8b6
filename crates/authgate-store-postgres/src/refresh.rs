//! Refresh tokens, stored by hash, rotated atomically.

use crate::PostgresStore;
use crate::codec::{col, db_err};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Grant, RefreshToken, RefreshTokenContext, RotationOutcome};
use authgate_store::{RefreshTokenStore, StoreResult};
use sqlx::postgres::PgRow;

macro_rules! cols {
    () => {
        "token_hash, grant_id, client_id, scopes, issued_at, expires_at, rotated_at, \
         successor_hash, revoked_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        client_id: col(row, "client_id")?,
        scopes: col(row, "scopes")?,
        issued_at: col(row, "issued_at")?,
        expires_at: col(row, "expires_at")?,
        rotated_at: col(row, "rotated_at")?,
        successor_hash: col(row, "successor_hash")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

/// A refresh token joined with its grant and the grant's person (one round
/// trip for the refresh grant).
pub(crate) async fn get_context(
    store: &PostgresStore,
    token_hash: &str,
) -> StoreResult<Option<RefreshTokenContext>> {
    let row = sqlx::query(
        "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.issued_at, r.expires_at, \
                r.rotated_at, r.successor_hash, r.revoked_at, \
                g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, \
                g.resource_id AS g_resource_id, g.scopes AS g_scopes, \
                g.auth_time AS g_auth_time, g.created_at AS g_created_at, \
                g.last_used_at AS g_last_used_at, g.expires_at AS g_expires_at, \
                g.revoked_at AS g_revoked_at, \
                CASE WHEN g.id IS NULL THEN false \
                     WHEN g.user_id IS NULL THEN true \
                     ELSE coalesce(NOT u.disabled, false) END AS subject_active \
         FROM refresh_tokens r LEFT JOIN grants g ON g.id = r.grant_id \
              LEFT JOIN users u ON u.id = g.user_id \
         WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_err("refresh token"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let token = from_row(&row)?;
    let gid: Option<String> = col(&row, "g_id")?;
    let grant = match gid {
        None => None,
        Some(id) => Some(Grant {
            id,
            client_id: col(&row, "g_client_id")?,
            user_id: col(&row, "g_user_id")?,
            resource_id: col(&row, "g_resource_id")?,
            scopes: col(&row, "g_scopes")?,
            auth_time: col(&row, "g_auth_time")?,
            created_at: col(&row, "g_created_at")?,
            last_used_at: col(&row, "g_last_used_at")?,
            expires_at: col(&row, "g_expires_at")?,
            revoked_at: col(&row, "g_revoked_at")?,
        }),
    };
    Ok(Some(RefreshTokenContext {
        token,
        grant,
        subject_active: col(&row, "subject_active")?,
    }))
}

/// Rotation in one statement (one round trip, its own transaction):
/// 1. share-lock the parent's grant if it is live — this waits for a
///    concurrent `revoke_grant`, and a grant revoked meanwhile drops out;
/// 2. claim the parent: only an unrotated, unrevoked row matches, and
///    concurrent claimers re-check that after the winner commits;
/// 3. insert the successor only if the claim succeeded.
const ROTATE: &str = "\
WITH live_grant AS (
    SELECT g.id FROM grants g
    JOIN refresh_tokens t ON t.grant_id = g.id
    WHERE t.token_hash = $1 AND g.revoked_at IS NULL
    FOR SHARE OF g
), parent AS (
    UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3
    WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL
      AND grant_id IN (SELECT id FROM live_grant)
    RETURNING token_hash
)
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, issued_at, expires_at,
                            rotated_at, successor_hash, revoked_at)
SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM parent
RETURNING token_hash";

#[async_trait]
impl RefreshTokenStore for PostgresStore {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO refresh_tokens (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(&t.client_id)
        .bind(&t.scopes)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.rotated_at)
        .bind(&t.successor_hash)
        .bind(t.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(())
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("refresh token"))?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<RotationOutcome> {
        let s = successor;
        let inserted: Option<String> = sqlx::query_scalar(ROTATE)
            .bind(parent_hash)
            .bind(now)
            .bind(&s.token_hash)
            .bind(&s.grant_id)
            .bind(&s.client_id)
            .bind(&s.scopes)
            .bind(s.issued_at)
            .bind(s.expires_at)
            .bind(s.rotated_at)
            .bind(&s.successor_hash)
            .bind(s.revoked_at)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("refresh token"))?;
        if inserted.is_some() {
            return Ok(RotationOutcome::Rotated);
        }
        // A rotated token never becomes unrotated, so reading after is safe.
        let state: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT rotated_at, successor_hash, revoked_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(parent_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(match state {
            Some((Some(rotated_at), Some(successor_hash), None)) => {
                RotationOutcome::AlreadyRotated {
                    rotated_at,
                    successor_hash,
                }
            }
            _ => RotationOutcome::NotFound,
        })
    }

    async fn revoke_refresh_token(&self, token_hash: &str, now: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, $1) \
             WHERE token_hash = $2",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(done.rows_affected() > 0)
    }
}
