//! Users who sign in on authgate's pages.

use crate::PostgresStore;
use crate::codec::col;
use async_trait::async_trait;
use authgate_core::model::User;
use authgate_store::{StoreError, StoreResult, UserStore};
use sqlx::postgres::PgRow;

macro_rules! cols {
    () => {
        "id, email, name, password_hash, disabled, is_admin, created_at"
    };
}

fn from_row(row: &PgRow) -> StoreResult<User> {
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

fn user_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            if d.constraint().is_some_and(|c| c.contains("email")) {
                StoreError::Conflict("user email".into())
            } else {
                StoreError::Conflict("user".into())
            }
        }
        _ => StoreError::Backend(format!("user: {e}")),
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_key, name, password_hash, disabled, is_admin, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(email_key(&u.email))
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(u.is_admin)
        .bind(u.created_at)
        .execute(&self.pool)
        .await
        .map_err(user_err)?;
        Ok(())
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET email = $1, email_key = $2, name = $3, password_hash = $4, \
             disabled = $5, is_admin = $6, created_at = $7 WHERE id = $8",
        )
        .bind(&u.email)
        .bind(email_key(&u.email))
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(u.is_admin)
        .bind(u.created_at)
        .bind(&u.id)
        .execute(&self.pool)
        .await
        .map_err(user_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!("SELECT ", cols!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(user_err)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE email_key = $1"
        ))
        .bind(email_key(email))
        .fetch_optional(&self.pool)
        .await
        .map_err(user_err)?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM users ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(user_err)?
        .iter()
        .map(from_row)
        .collect()
    }
}
