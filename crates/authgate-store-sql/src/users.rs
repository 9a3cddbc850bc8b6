//! Users who sign in on authgate's pages.

use crate::SqlStore;
use crate::codec::col;
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use async_trait::async_trait;
use authgate_core::model::User;
use authgate_store::{StoreError, StoreResult, UserStore};

macro_rules! cols {
    () => {
        "id, email, name, password_hash, disabled, is_admin, created_at"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<User> {
    Ok(User {
        id: col(row, "id")?,
        email: col(row, "email")?,
        name: col(row, "name")?,
        password_hash: col(row, "password_hash")?,
        disabled: col(row, "disabled")?,
        is_admin: col(row, "is_admin")?,
        created_at: col(row, "created_at")?,
    })
}

/// The unique lookup key of an email.
fn email_key(email: &str) -> String {
    email.to_lowercase()
}

fn user_err<D: Dialect>(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            if D::violates(d.as_ref(), "email") {
                StoreError::Conflict("user email".into())
            } else {
                StoreError::Conflict("user".into())
            }
        }
        _ => StoreError::Backend(format!("user: {}", crate::reason(&e))),
    }
}

impl<DB: Run> Sql<DB> {
    /// Binds every column of `u`, in the INSERT's order (the UPDATE numbers
    /// its parameters to match).
    fn bind_user(self, u: &User) -> Self {
        self.arg(&u.id)
            .arg(&u.email)
            .arg(email_key(&u.email))
            .arg(&u.name)
            .arg(&u.password_hash)
            .arg(u.disabled)
            .arg(u.is_admin)
            .arg(u.created_at)
    }
}

#[async_trait]
impl<D: Dialect> UserStore for SqlStore<D> {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO users (id, email, email_key, name, password_hash, disabled, is_admin, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind_user(u)
        .execute(self.db.writer())
        .await
        .map_err(user_err::<D>)?;
        Ok(())
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE users SET email = $2, email_key = $3, name = $4, password_hash = $5, \
             disabled = $6, is_admin = $7, created_at = $8 WHERE id = $1",
        )
        .bind_user(u)
        .execute(self.db.writer())
        .await
        .map_err(user_err::<D>)?;
        Ok(done > 0)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        sql::<D::Db>(concat!("SELECT ", cols!(), " FROM users WHERE id = $1"))
            .arg(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(user_err::<D>)?
            .as_ref()
            .map(from_row::<D>)
            .transpose()
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE email_key = $1"
        ))
        .arg(email_key(email))
        .fetch_optional(self.db.reader())
        .await
        .map_err(user_err::<D>)?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM users ORDER BY created_at, id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(user_err::<D>)?
        .iter()
        .map(from_row::<D>)
        .collect()
    }
}
