//! Users who sign in on authgate's pages.

use crate::SqlStore;
use crate::codec::col;
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use async_trait::async_trait;
use authgate_core::model::{Role, User};
use authgate_store::{StoreError, StoreResult, UserQuery, UserStore};

macro_rules! cols {
    () => {
        "id, email, name, password_hash, disabled, role, created_at, email_verified, signed_up"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<User> {
    Ok(User {
        id: col(row, "id")?,
        email: col(row, "email")?,
        name: col(row, "name")?,
        password_hash: col(row, "password_hash")?,
        disabled: col(row, "disabled")?,
        role: role_col::<D>(row)?,
        created_at: col(row, "created_at")?,
        email_verified: col(row, "email_verified")?,
        signed_up: col(row, "signed_up")?,
    })
}

fn role_col<D: Dialect>(row: &RowOf<D>) -> StoreResult<Role> {
    let name: &str = col(row, "role")?;
    Role::parse(name).ok_or_else(|| StoreError::Backend(format!("user: unknown role {name:?}")))
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

/// The people matching a [`UserQuery`]: `$1` a LIKE pattern (escape `!`)
/// for the email or the name, or NULL; `$2` a role or NULL; `$3` disabled
/// or NULL. Both sides of LIKE are lowercased (the email key already is),
/// so it matches case-insensitively on either database.
macro_rules! matching {
    () => {
        " FROM users WHERE (CAST($1 AS TEXT) IS NULL OR email_key LIKE $1 ESCAPE '!' \
         OR lower(coalesce(name, '')) LIKE $1 ESCAPE '!') \
         AND (CAST($2 AS TEXT) IS NULL OR role = $2) AND ($3 IS NULL OR disabled = $3)"
    };
}

/// A LIKE pattern finding `text` anywhere, its own `%`, `_` and `!` literal.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl<DB: Run> Sql<DB> {
    /// Binds a [`UserQuery`]'s filters as [`matching`] numbers them.
    fn bind_user_query(self, q: &UserQuery) -> Self {
        let pattern = q
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(contains_pattern);
        self.arg(pattern.as_deref())
            .arg(q.role.map(Role::as_str))
            .arg(q.disabled)
    }

    /// Binds every column of `u`, in the INSERT's order (the UPDATE numbers
    /// its parameters to match).
    fn bind_user(self, u: &User) -> Self {
        self.arg(&u.id)
            .arg(&u.email)
            .arg(email_key(&u.email))
            .arg(&u.name)
            .arg(&u.password_hash)
            .arg(u.disabled)
            .arg(u.role.as_str())
            .arg(u.created_at)
            .arg(u.email_verified)
            .arg(u.signed_up)
    }
}

#[async_trait]
impl<D: Dialect> UserStore for SqlStore<D> {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO users (id, email, email_key, name, password_hash, disabled, role, \
             created_at, email_verified, signed_up) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
             disabled = $6, role = $7, created_at = $8, email_verified = $9, \
             signed_up = $10 WHERE id = $1",
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

    async fn list_users_page(&self, q: &UserQuery) -> StoreResult<(Vec<User>, u64)> {
        let total: i64 = col(
            &sql::<D::Db>(concat!("SELECT count(*) AS n", matching!()))
                .bind_user_query(q)
                .fetch_one(self.db.reader())
                .await
                .map_err(user_err::<D>)?,
            "n",
        )?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let items = sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            matching!(),
            " ORDER BY created_at, id LIMIT $4 OFFSET $5"
        ))
        .bind_user_query(q)
        .arg(limit)
        .arg(offset)
        .fetch_all(self.db.reader())
        .await
        .map_err(user_err::<D>)?
        .iter()
        .map(from_row::<D>)
        .collect::<StoreResult<Vec<User>>>()?;
        Ok((items, u64::try_from(total).unwrap_or(0)))
    }

    async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.db.begin_write().await.map_err(user_err::<D>)?;
        // What acts as the person first, the person last: nothing they
        // opened outlives them.
        for statement in [
            "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants WHERE user_id = $1)",
            "DELETE FROM grants WHERE user_id = $1",
            "DELETE FROM consents WHERE user_id = $1",
            "DELETE FROM authorization_codes WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM totp_secrets WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
        ] {
            sql::<D::Db>(statement)
                .arg(id)
                .execute_in(&mut tx)
                .await
                .map_err(user_err::<D>)?;
        }
        let done = sql::<D::Db>("DELETE FROM users WHERE id = $1")
            .arg(id)
            .execute_in(&mut tx)
            .await
            .map_err(user_err::<D>)?;
        tx.commit().await.map_err(user_err::<D>)?;
        Ok(done > 0)
    }
}
