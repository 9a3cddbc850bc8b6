//! Signing keys (private halves sealed by the caller).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::{Run, Sql, sql};
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{SigningAlg, SigningKeyRecord};
use authgate_store::{SigningKeyStore, StoreError, StoreResult};

fn from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<SigningKeyRecord> {
    let alg: &str = col(row, "alg")?;
    Ok(SigningKeyRecord {
        kid: col(row, "kid")?,
        alg: SigningAlg::parse(alg)
            .ok_or_else(|| StoreError::Backend(format!("unknown signing alg {alg:?}")))?,
        private_key_sealed: col(row, "private_key_sealed")?,
        public_jwk: D::Db::json_col(row, "public_jwk")?,
        created_at: col(row, "created_at")?,
        retired_at: col(row, "retired_at")?,
        remove_after: col(row, "remove_after")?,
    })
}

macro_rules! insert_into {
    () => {
        "INSERT INTO signing_keys (kid, alg, private_key_sealed, public_jwk, created_at, \
         retired_at, remove_after) "
    };
}

/// Inserts a key.
const INSERT: &str = concat!(insert_into!(), "VALUES ($1, $2, $3, $4, $5, $6, $7)");

/// Inserts a key unless an unretired key of its algorithm (`$2`) exists: the
/// check and the insert are one statement; each dialect keeps other writers
/// from interleaving with it.
pub(crate) const INSERT_FIRST: &str = concat!(
    insert_into!(),
    "SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS \
     (SELECT 1 FROM signing_keys WHERE alg = $2 AND retired_at IS NULL)"
);

/// `sql` (one of the inserts above) with `k` bound.
pub(crate) fn insert<DB: Run>(sql_text: &'static str, k: &SigningKeyRecord) -> Sql<DB> {
    sql::<DB>(sql_text)
        .arg(&k.kid)
        .arg(k.alg.as_str())
        .arg(&k.private_key_sealed)
        .json(&k.public_jwk)
        .arg(k.created_at)
        .arg(k.retired_at)
        .arg(k.remove_after)
}

#[async_trait]
impl<D: Dialect> SigningKeyStore for SqlStore<D> {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        insert::<D::Db>(INSERT, k)
            .execute(self.db.writer())
            .await
            .map_err(db_err("signing key"))?;
        Ok(())
    }

    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        self.db.insert_first_signing_key(k).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sql::<D::Db>(
            "SELECT kid, alg, private_key_sealed, public_jwk, created_at, retired_at, \
             remove_after FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("signing key"))?
        .iter()
        .map(from_row::<D>)
        .collect()
    }

    async fn retire_signing_keys_except(
        &self,
        keep_kid: &str,
        now: UnixTime,
        remove_after: UnixTime,
    ) -> StoreResult<()> {
        sql::<D::Db>(
            "UPDATE signing_keys SET retired_at = $1, remove_after = $2 \
             WHERE kid <> $3 AND retired_at IS NULL",
        )
        .arg(now)
        .arg(remove_after)
        .arg(keep_kid)
        .execute(self.db.writer())
        .await
        .map_err(db_err("signing key"))?;
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let done = sql::<D::Db>("DELETE FROM signing_keys WHERE kid = $1")
            .arg(kid)
            .execute(self.db.writer())
            .await
            .map_err(db_err("signing key"))?;
        Ok(done > 0)
    }
}
