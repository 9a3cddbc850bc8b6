//! Second factors other than passkeys: the TOTP authenticator and the
//! recovery codes of a person (both removed with the person).

use crate::StoreResult;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::model::TotpRecord;

#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Stores `t` as the person's new, unconfirmed authenticator, replacing
    /// an unconfirmed one; `false` (nothing written) when the person has a
    /// confirmed one (it must be removed first).
    async fn begin_totp(&self, t: &TotpRecord) -> StoreResult<bool>;
    async fn get_totp(&self, user_id: &str) -> StoreResult<Option<TotpRecord>>;
    /// Confirms the unconfirmed enrolment `id` of the person, recording
    /// `step` as used; `false` when that enrolment is not (or no longer)
    /// the person's unconfirmed one.
    async fn confirm_totp(
        &self,
        user_id: &str,
        id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Records `step` as used on the person's confirmed authenticator,
    /// atomically: `true` only when it is newer than every step used
    /// before (of two concurrent callers with one code, exactly one wins).
    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool>;
    /// Removes the person's authenticator (confirmed or not).
    async fn delete_totp(&self, user_id: &str) -> StoreResult<bool>;
    /// Replaces all the person's recovery codes with `code_hashes`
    /// (atomically: the old ones stop working as the new ones start).
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_hashes: &[String],
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Spends one unused recovery code of the person, atomically: `true`
    /// once, `false` for a used, unknown or other person's code.
    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// How many of the person's recovery codes are unused.
    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64>;
    /// Removes all the person's recovery codes; how many there were.
    async fn delete_recovery_codes(&self, user_id: &str) -> StoreResult<u64>;
}
