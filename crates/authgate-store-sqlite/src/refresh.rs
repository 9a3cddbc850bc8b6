//! Refresh tokens, stored by hash, rotated atomically.

use crate::SqliteStore;
use crate::codec::{col, db_err, json_col, to_json};
use crate::rotation::Rotation;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{Grant, RefreshToken, RefreshTokenContext, RotationOutcome};
use authgate_store::{RefreshTokenStore, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Executor, Sqlite};

macro_rules! cols {
    () => {
        "token_hash, grant_id, client_id, scopes, issued_at, expires_at, rotated_at, \
         successor_hash, revoked_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        client_id: col(row, "client_id")?,
        scopes: json_col(row, "scopes")?,
        issued_at: col(row, "issued_at")?,
        expires_at: col(row, "expires_at")?,
        rotated_at: col(row, "rotated_at")?,
        successor_hash: col(row, "successor_hash")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

/// A refresh token joined with its grant and the grant's person (one read
/// for the refresh grant), without its WHERE clause; see
/// [`context_from_row`].
pub(crate) const CONTEXT_SELECT: &str = "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.issued_at, r.expires_at, \
            r.rotated_at, r.successor_hash, r.revoked_at, \
            g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, \
            g.resource_id AS g_resource_id, g.scopes AS g_scopes, \
            g.auth_time AS g_auth_time, g.created_at AS g_created_at, \
            g.last_used_at AS g_last_used_at, g.expires_at AS g_expires_at, \
            g.revoked_at AS g_revoked_at, \
            CASE WHEN g.id IS NULL THEN 0 \
                 WHEN g.user_id IS NULL THEN 1 \
                 WHEN u.id IS NOT NULL AND u.disabled = 0 THEN 1 \
                 ELSE 0 END AS subject_active \
     FROM refresh_tokens r LEFT JOIN grants g ON g.id = r.grant_id \
          LEFT JOIN users u ON u.id = g.user_id";

/// Decodes a row of [`CONTEXT_SELECT`].
pub(crate) fn context_from_row(row: &SqliteRow) -> StoreResult<RefreshTokenContext> {
    let token = from_row(row)?;
    let gid: Option<String> = col(row, "g_id")?;
    let grant = match gid {
        None => None,
        Some(id) => Some(Grant {
            id,
            client_id: col(row, "g_client_id")?,
            user_id: col(row, "g_user_id")?,
            resource_id: col(row, "g_resource_id")?,
            scopes: json_col(row, "g_scopes")?,
            auth_time: col(row, "g_auth_time")?,
            created_at: col(row, "g_created_at")?,
            last_used_at: col(row, "g_last_used_at")?,
            expires_at: col(row, "g_expires_at")?,
            revoked_at: col(row, "g_revoked_at")?,
        }),
    };
    let subject_active: bool = col(row, "subject_active")?;
    Ok(RefreshTokenContext {
        token,
        grant,
        subject_active,
    })
}

async fn insert<'e, E>(exec: E, t: &RefreshToken) -> StoreResult<()>
where
    E: Executor<'e, Database = Sqlite>,
{
    sqlx::query(concat!(
        "INSERT INTO refresh_tokens (",
        cols!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&t.token_hash)
    .bind(&t.grant_id)
    .bind(&t.client_id)
    .bind(to_json(&t.scopes)?)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.rotated_at)
    .bind(&t.successor_hash)
    .bind(t.revoked_at)
    .execute(exec)
    .await
    .map_err(db_err("refresh token"))?;
    Ok(())
}

#[async_trait]
impl RefreshTokenStore for SqliteStore {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
        insert(&self.writer, t).await
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM refresh_tokens WHERE token_hash = ?"
        ))
        .bind(token_hash)
        .fetch_optional(&self.reader)
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
        // Queued for the writer task, which commits concurrent rotations
        // together (see `rotation`).
        let won = self
            .rotator
            .rotate(Rotation {
                parent_hash: parent_hash.to_owned(),
                successor: successor.clone(),
                now,
            })
            .await?;
        if won {
            return Ok(RotationOutcome::Rotated);
        }
        // A rotated token never becomes unrotated, so reading after is safe.
        let state: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT rotated_at, successor_hash, revoked_at FROM refresh_tokens \
             WHERE token_hash = ?",
        )
        .bind(parent_hash)
        .fetch_optional(&self.reader)
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
            "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.writer)
        .await
        .map_err(db_err("refresh token"))?;
        Ok(done.rows_affected() > 0)
    }
}
