//! Signing keys (private halves sealed by the caller).

use crate::PostgresStore;
use crate::codec::{col, db_err, json_col};
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::{SigningAlg, SigningKeyRecord};
use authgate_store::{SigningKeyStore, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

fn from_row(row: &PgRow) -> StoreResult<SigningKeyRecord> {
    let alg: &str = col(row, "alg")?;
    Ok(SigningKeyRecord {
        kid: col(row, "kid")?,
        alg: SigningAlg::parse(alg)
            .ok_or_else(|| StoreError::Backend(format!("unknown signing alg {alg:?}")))?,
        private_key_sealed: col(row, "private_key_sealed")?,
        public_jwk: json_col(row, "public_jwk")?,
        created_at: col(row, "created_at")?,
        retired_at: col(row, "retired_at")?,
        remove_after: col(row, "remove_after")?,
    })
}

/// `INSERT INTO signing_keys (…columns…) <source>`, where `source` is a
/// `VALUES` or `SELECT` with the seven columns' placeholders in order.
/// Returns the number of rows inserted.
async fn insert<'e>(
    db: impl sqlx::PgExecutor<'e>,
    source: &'static str,
    k: &SigningKeyRecord,
) -> StoreResult<u64> {
    const COLUMNS: &str = "INSERT INTO signing_keys (kid, alg, private_key_sealed, public_jwk, \
                           created_at, retired_at, remove_after) ";
    sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS}{source}")))
        .bind(&k.kid)
        .bind(k.alg.as_str())
        .bind(&k.private_key_sealed)
        .bind(Json(&k.public_jwk))
        .bind(k.created_at)
        .bind(k.retired_at)
        .bind(k.remove_after)
        .execute(db)
        .await
        .map(|done| done.rows_affected())
        .map_err(db_err("signing key"))
}

#[async_trait]
impl SigningKeyStore for PostgresStore {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        insert(&self.pool, "VALUES ($1, $2, $3, $4, $5, $6, $7)", k).await?;
        Ok(())
    }

    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        // READ COMMITTED lets two `INSERT … WHERE NOT EXISTS` both see no
        // key of the algorithm; a table lock that conflicts with itself serializes
        // them, and the second one's statement then sees the first's row.
        let mut tx = self.pool.begin().await.map_err(db_err("signing key"))?;
        sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err("signing key"))?;
        let rows = insert(
            &mut *tx,
            "SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS \
             (SELECT 1 FROM signing_keys WHERE alg = $2 AND retired_at IS NULL)",
            k,
        )
        .await?;
        tx.commit().await.map_err(db_err("signing key"))?;
        Ok(rows == 1)
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sqlx::query(
            "SELECT kid, alg, private_key_sealed, public_jwk, created_at, retired_at, \
             remove_after FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("signing key"))?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn retire_signing_keys_except(
        &self,
        keep_kid: &str,
        now: UnixTime,
        remove_after: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1, remove_after = $2 \
             WHERE kid <> $3 AND retired_at IS NULL",
        )
        .bind(now)
        .bind(remove_after)
        .bind(keep_kid)
        .execute(&self.pool)
        .await
        .map_err(db_err("signing key"))?;
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(db_err("signing key"))?;
        Ok(done.rows_affected() > 0)
    }
}
