//! Users who sign in on authgate's pages.

use crate::SqliteStore;
use crate::codec::col;
use async_trait::async_trait;
use authgate_core::model::User;
use authgate_store::{StoreError, StoreResult, UserStore};
use sqlx::sqlite::SqliteRow;

macro_rules! cols {
    () => {
        "id, email, name, password_hash, disabled, is_admin, created_at"
    };
}

fn from_row(row: &SqliteRow) -> StoreResult<User> {
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
            if d.message().contains("email") {
                StoreError::Conflict("user email".into())
            } else {
                StoreError::Conflict("user".into())
            }
        }
        _ => StoreError::Backend(format!("user: {e}")),
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_key, name, password_hash, disabled, is_admin, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(email_key(&u.email))
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(u.is_admin)
        .bind(u.created_at)
        .execute(&self.writer)
        .await
        .map_err(user_err)?;
        Ok(())
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET email = ?, email_key = ?, name = ?, password_hash = ?, \
             disabled = ?, is_admin = ?, created_at = ? WHERE id = ?",
        )
        .bind(&u.email)
        .bind(email_key(&u.email))
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(u.is_admin)
        .bind(u.created_at)
        .bind(&u.id)
        .execute(&self.writer)
        .await
        .map_err(user_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!("SELECT ", cols!(), " FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
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
            " FROM users WHERE email_key = ?"
        ))
        .bind(email_key(email))
        .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
        .await
        .map_err(user_err)?
        .iter()
        .map(from_row)
        .collect()
    }
}
