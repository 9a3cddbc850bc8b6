//! Refresh tokens, stored by hash, rotated atomically.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::Dialect;
use crate::query::{Run, Sql, sql};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{
    AccountStanding, AuthContext, Grant, RefreshToken, RefreshTokenContext, RotationOutcome,
};
use authgate_store::{RefreshTokenStore, StoreResult};

macro_rules! cols {
    () => {
        "token_hash, grant_id, client_id, scopes, issued_at, expires_at, rotated_at, \
         successor_hash, revoked_at"
    };
}

fn from_row<DB: Run>(row: &DB::Row) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        client_id: col(row, "client_id")?,
        scopes: DB::list_col(row, "scopes")?,
        issued_at: col(row, "issued_at")?,
        expires_at: col(row, "expires_at")?,
        rotated_at: col(row, "rotated_at")?,
        successor_hash: col(row, "successor_hash")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

/// A refresh token joined with its grant and the grant's person's standing
/// (one read for the refresh grant), without its WHERE clause; see
/// [`context_from_row`].
macro_rules! context_select {
    () => {
        "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.issued_at, r.expires_at, \
            r.rotated_at, r.successor_hash, r.revoked_at, \
            g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, \
            g.resource_id AS g_resource_id, g.scopes AS g_scopes, \
            g.auth_time AS g_auth_time, g.created_at AS g_created_at, \
            g.last_used_at AS g_last_used_at, g.expires_at AS g_expires_at, \
            g.revoked_at AS g_revoked_at, g.amr AS g_amr, g.idp AS g_idp, \
            g.org_id AS g_org_id, \
            u.id AS u_id, u.disabled AS u_disabled, u.email_verified AS u_email_verified, \
            u.signed_up AS u_signed_up \
     FROM refresh_tokens r LEFT JOIN grants g ON g.id = r.grant_id \
          LEFT JOIN users u ON u.id = g.user_id"
    };
}
pub(crate) use context_select;
pub(crate) const CONTEXT_SELECT: &str = context_select!();

/// Decodes a row of [`CONTEXT_SELECT`].
pub(crate) fn context_from_row<DB: Run>(row: &DB::Row) -> StoreResult<RefreshTokenContext> {
    let token = from_row::<DB>(row)?;
    let gid: Option<String> = col(row, "g_id")?;
    let grant = match gid {
        None => None,
        Some(id) => Some(Grant {
            id,
            client_id: col(row, "g_client_id")?,
            user_id: col(row, "g_user_id")?,
            resource_id: col(row, "g_resource_id")?,
            scopes: DB::list_col(row, "g_scopes")?,
            auth_time: col(row, "g_auth_time")?,
            created_at: col(row, "g_created_at")?,
            last_used_at: col(row, "g_last_used_at")?,
            expires_at: col(row, "g_expires_at")?,
            revoked_at: col(row, "g_revoked_at")?,
            auth: AuthContext {
                amr: DB::list_col(row, "g_amr")?,
                idp: col(row, "g_idp")?,
                org_id: col(row, "g_org_id")?,
            },
        }),
    };
    let uid: Option<String> = col(row, "u_id")?;
    let subject = match uid {
        None => None,
        Some(_) => Some(AccountStanding {
            disabled: col(row, "u_disabled")?,
            email_verified: col(row, "u_email_verified")?,
            signed_up: col(row, "u_signed_up")?,
        }),
    };
    Ok(RefreshTokenContext {
        token,
        grant,
        subject,
    })
}

impl<DB: Run> Sql<DB> {
    /// Binds every column of `t`, in `cols!` order (the next nine
    /// parameters).
    pub(crate) fn bind_token(self, t: &RefreshToken) -> Self {
        self.arg(&t.token_hash)
            .arg(&t.grant_id)
            .arg(&t.client_id)
            .list(&t.scopes)
            .arg(t.issued_at)
            .arg(t.expires_at)
            .arg(t.rotated_at)
            .arg(&t.successor_hash)
            .arg(t.revoked_at)
    }
}

#[async_trait]
impl<D: Dialect> RefreshTokenStore for SqlStore<D> {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO refresh_tokens (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind_token(t)
        .execute(self.db.writer())
        .await
        .map_err(db_err("refresh token"))?;
        Ok(())
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM refresh_tokens WHERE token_hash = $1"
        ))
        .arg(token_hash)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("refresh token"))?
        .as_ref()
        .map(from_row::<D::Db>)
        .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<RotationOutcome> {
        if self.db.claim_rotation(parent_hash, successor, now).await? {
            return Ok(RotationOutcome::Rotated);
        }
        // A rotated token never becomes unrotated, so reading after is safe.
        let parent = sql::<D::Db>(
            "SELECT rotated_at, successor_hash, revoked_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .arg(parent_hash)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("refresh token"))?;
        let state = match parent {
            Some(row) => Some((
                col::<_, Option<i64>>(&row, "rotated_at")?,
                col::<_, Option<String>>(&row, "successor_hash")?,
                col::<_, Option<i64>>(&row, "revoked_at")?,
            )),
            None => None,
        };
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
        let done = sql::<D::Db>(
            "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE token_hash = $2",
        )
        .arg(now)
        .arg(token_hash)
        .execute(self.db.writer())
        .await
        .map_err(db_err("refresh token"))?;
        Ok(done > 0)
    }
}
