//! Upstream identity providers and the links from their subjects to local
//! people (issue 19). Deleting a connection or a person deletes their links
//! (foreign keys with `ON DELETE CASCADE`).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::connection::{Connection, ConnectionKind, IdentityClaims, UserIdentity};
use authgate_store::{ConnectionStore, StoreError, StoreResult, UserIdentityStore};

macro_rules! connection_cols {
    () => {
        "id, kind, display_name, preset, config, secret_sealed, trusted_email_domains, \
         show_on_login, disabled, created_at"
    };
}

macro_rules! identity_cols {
    () => {
        "connection_id, subject, user_id, claims, created_at, last_seen_at"
    };
}

fn connection_from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Connection> {
    let kind: &str = col(row, "kind")?;
    Ok(Connection {
        id: col(row, "id")?,
        kind: ConnectionKind::parse(kind)
            .ok_or_else(|| StoreError::Backend(format!("connection: unknown kind {kind:?}")))?,
        display_name: col(row, "display_name")?,
        preset: col(row, "preset")?,
        config: D::Db::json_col(row, "config")?,
        secret_sealed: col(row, "secret_sealed")?,
        trusted_email_domains: D::Db::json_col(row, "trusted_email_domains")?,
        show_on_login: col(row, "show_on_login")?,
        disabled: col(row, "disabled")?,
        created_at: col(row, "created_at")?,
    })
}

fn identity_from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<UserIdentity> {
    Ok(UserIdentity {
        connection_id: col(row, "connection_id")?,
        subject: col(row, "subject")?,
        user_id: col(row, "user_id")?,
        claims: D::Db::json_col::<IdentityClaims>(row, "claims")?,
        created_at: col(row, "created_at")?,
        last_seen_at: col(row, "last_seen_at")?,
    })
}

impl<DB: Run> Sql<DB> {
    /// Binds every column of `c`, in the INSERT's order (the UPDATE numbers
    /// its parameters to match).
    fn bind_connection(self, c: &Connection) -> Self {
        self.arg(&c.id)
            .arg(c.kind.as_str())
            .arg(&c.display_name)
            .arg(&c.preset)
            .json(&c.config)
            .arg(&c.secret_sealed)
            .json(&c.trusted_email_domains)
            .arg(c.show_on_login)
            .arg(c.disabled)
            .arg(c.created_at)
    }
}

#[async_trait]
impl<D: Dialect> ConnectionStore for SqlStore<D> {
    async fn insert_connection(&self, c: &Connection) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO connections (",
            connection_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind_connection(c)
        .execute(self.db.writer())
        .await
        .map_err(db_err("connection"))?;
        Ok(())
    }

    async fn update_connection(&self, c: &Connection) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE connections SET kind = $2, display_name = $3, preset = $4, config = $5, \
             secret_sealed = $6, trusted_email_domains = $7, show_on_login = $8, disabled = $9, \
             created_at = $10 WHERE id = $1",
        )
        .bind_connection(c)
        .execute(self.db.writer())
        .await
        .map_err(db_err("connection"))?;
        Ok(done > 0)
    }

    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            connection_cols!(),
            " FROM connections WHERE id = $1"
        ))
        .arg(id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("connection"))?
        .as_ref()
        .map(connection_from_row::<D>)
        .transpose()
    }

    async fn list_connections(&self) -> StoreResult<Vec<Connection>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            connection_cols!(),
            " FROM connections ORDER BY created_at, id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("connection"))?
        .iter()
        .map(connection_from_row::<D>)
        .collect()
    }

    async fn delete_connection(&self, id: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM connections WHERE id = $1")
            .arg(id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("connection"))?;
        Ok(done > 0)
    }
}

#[async_trait]
impl<D: Dialect> UserIdentityStore for SqlStore<D> {
    async fn insert_user_identity(&self, i: &UserIdentity) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO user_identities (",
            identity_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .arg(&i.connection_id)
        .arg(&i.subject)
        .arg(&i.user_id)
        .json(&i.claims)
        .arg(i.created_at)
        .arg(i.last_seen_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("user identity"))?;
        Ok(())
    }

    async fn get_user_identity(
        &self,
        connection_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UserIdentity>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM user_identities WHERE connection_id = $1 AND subject = $2"
        ))
        .arg(connection_id)
        .arg(subject)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("user identity"))?
        .as_ref()
        .map(identity_from_row::<D>)
        .transpose()
    }

    async fn touch_user_identity(
        &self,
        connection_id: &str,
        subject: &str,
        claims: &IdentityClaims,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE user_identities SET claims = $3, last_seen_at = $4 \
             WHERE connection_id = $1 AND subject = $2",
        )
        .arg(connection_id)
        .arg(subject)
        .json(claims)
        .arg(now)
        .execute(self.db.writer())
        .await
        .map_err(db_err("user identity"))?;
        Ok(done > 0)
    }

    async fn list_user_identities(&self, user_id: &str) -> StoreResult<Vec<UserIdentity>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM user_identities WHERE user_id = $1 \
             ORDER BY created_at, connection_id, subject"
        ))
        .arg(user_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("user identity"))?
        .iter()
        .map(identity_from_row::<D>)
        .collect()
    }

    async fn delete_user_identity(&self, connection_id: &str, subject: &str) -> StoreResult<bool> {
        let done =
            sql::<D::Db>("DELETE FROM user_identities WHERE connection_id = $1 AND subject = $2")
                .arg(connection_id)
                .arg(subject)
                .execute(self.db.writer())
                .await
                .map_err(db_err("user identity"))?;
        Ok(done > 0)
    }
}
