//! Passkeys (see [`PasskeyStore`]): one row per WebAuthn credential.

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::model::PasskeyRecord;
use authgate_store::{PasskeyStore, StoreResult};

macro_rules! cols {
    () => {
        "id, user_id, credential_id, name, credential, created_at, last_used_at"
    };
}

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        credential_id: col(row, "credential_id")?,
        name: col(row, "name")?,
        credential: D::Db::json_col(row, "credential")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

#[async_trait]
impl<D: Dialect> PasskeyStore for SqlStore<D> {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO passkeys (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .arg(&p.id)
        .arg(&p.user_id)
        .arg(&p.credential_id)
        .arg(&p.name)
        .json(&p.credential)
        .arg(p.created_at)
        .arg(p.last_used_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("passkey"))?;
        Ok(())
    }

    async fn get_passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRecord>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM passkeys WHERE credential_id = $1"
        ))
        .arg(credential_id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("passkey"))?
        .as_ref()
        .map(from_row::<D>)
        .transpose()
    }

    async fn list_passkeys_for_user(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            cols!(),
            " FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .arg(user_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("passkey"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }

    async fn update_passkey(&self, p: &PasskeyRecord) -> StoreResult<bool> {
        let done = sql::<D::Db>(
            "UPDATE passkeys SET name = $1, credential = $2, last_used_at = $3 \
             WHERE id = $4 AND user_id = $5",
        )
        .arg(&p.name)
        .json(&p.credential)
        .arg(p.last_used_at)
        .arg(&p.id)
        .arg(&p.user_id)
        .execute(self.db.writer())
        .await
        .map_err(db_err("passkey"))?;
        Ok(done > 0)
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .arg(id)
            .arg(user_id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("passkey"))?;
        Ok(done > 0)
    }
}
