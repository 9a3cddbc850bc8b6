//! Second factors besides passkeys, and when one is owed:
//!
//! - [`totp`]: an authenticator app (RFC 6238 through `totp-rs`: SHA-1,
//!   6 digits, 30 s steps, one step either way), its secret sealed with
//!   the key-encryption key, each time step accepted once;
//! - [`recovery_codes`]: ten random codes shown once, stored hashed,
//!   single use; regenerating replaces them all;
//! - [`policy`]: after a correct password, whether the sign-in is done,
//!   owes a second factor, or must first enrol one (`[mfa] required`, or
//!   the person's organization's `require_mfa`);
//! - [`passkey_enrolment`]: a passkey as the factor enrolled on that step
//!   (the ceremony itself is `authority::passkeys`');
//! - [`reset`]: an operator removes every second factor of a person who
//!   lost them.
//!
//! Codes are throttled like passwords: the same [`SignInThrottle`]
//! (per address, per account and address, account-wide slow-down), with
//! the account named `mfa:<user id>` so password and code failures of one
//! person count apart while one address's failures count together.
//!
//! [`SignInThrottle`]: crate::throttle::SignInThrottle

pub mod config;
pub mod passkey_enrolment;
pub mod policy;
pub mod recovery_codes;
pub mod totp;

use crate::Authority;
use crate::audit::audit_detail;
use crate::net::AddressKey;
use crate::throttle::Refusal;
use authgate_core::model::AuthContext;
use authgate_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// Too many wrong codes for this person or address: wait.
    #[error("too many wrong codes; wait and try again")]
    Throttled(Refusal),
    /// The code is not right (or not a code at all).
    #[error("the code is not correct")]
    WrongCode,
    /// The code was right but already used (a time step is used once).
    #[error("this code was already used; wait for the next one")]
    Reused,
    /// The person has no authenticator to check a code against.
    #[error("no authenticator app is set up for this account")]
    NotEnrolled,
    /// The person already has a confirmed authenticator.
    #[error("an authenticator app is already set up; remove it first")]
    AlreadyEnrolled,
    /// The enrolment being confirmed was replaced or is gone.
    #[error("this setup expired; start again")]
    Expired,
    /// The secret could not be sealed or opened (wrong KEK, RNG failure).
    #[error("the authenticator secret could not be sealed or opened")]
    Crypto,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<authgate_core::random::RandomError> for MfaError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        MfaError::Store(e.into())
    }
}

/// The throttle's account name for a person's codes.
fn throttle_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// Refuses an attempt when the throttle says wait.
fn check_throttle(auth: &Authority, user_id: &str, address: AddressKey) -> Result<(), MfaError> {
    auth.login_throttle
        .check(&throttle_key(user_id), address, auth.clock.now())
        .map_err(|r| {
            event(
                auth,
                "mfa.failed",
                user_id,
                "refused",
                json!({"reason": "throttled"}),
            );
            MfaError::Throttled(r)
        })
}

/// Counts a wrong code and audits it.
fn failed(auth: &Authority, user_id: &str, address: AddressKey, method: &str, reason: &str) {
    auth.login_throttle
        .fail(&throttle_key(user_id), address, auth.clock.now());
    event(
        auth,
        "mfa.failed",
        user_id,
        "refused",
        json!({"method": method, "reason": reason}),
    );
}

fn succeeded(auth: &Authority, user_id: &str, address: AddressKey) {
    auth.login_throttle.succeed(&throttle_key(user_id), address);
}

/// The context after the first factor `first` and a one-time code (TOTP
/// or a recovery code, both `otp` in RFC 8176 terms).
pub fn after_code(first: &AuthContext) -> AuthContext {
    let mut ctx = first.clone();
    for m in ["otp", "mfa"] {
        if !ctx.amr.iter().any(|a| a == m) {
            ctx.amr.push(m.into());
        }
    }
    ctx
}

fn event(auth: &Authority, name: &str, actor: &str, outcome: &str, detail: Value) {
    audit_detail(auth, name, Some(actor), None, None, None, outcome, detail);
}

/// What an operator's reset removed.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct MfaReset {
    pub user_id: String,
    /// Whether an authenticator app (confirmed or being set up) was removed.
    pub totp_removed: bool,
    /// Recovery codes removed (used or not).
    pub recovery_codes_removed: u64,
    /// Passkeys removed.
    pub passkeys_removed: u64,
}

/// Removes every second factor of `user_id` (authenticator app, recovery
/// codes and passkeys), for a person who lost them: they sign in with
/// their password next and, where MFA is required, enrol again. Audited
/// by the caller (`manage::reset_mfa`, `mfa.reset`).
pub async fn reset(auth: &Authority, user_id: &str) -> Result<MfaReset, StoreError> {
    let totp_removed = auth.store.delete_totp(user_id).await?;
    let recovery_codes_removed = auth.store.delete_recovery_codes(user_id).await?;
    let mut passkeys_removed = 0u64;
    for p in auth.store.list_passkeys_for_user(user_id).await? {
        if auth.store.delete_passkey(user_id, &p.id).await? {
            passkeys_removed += 1;
        }
    }
    Ok(MfaReset {
        user_id: user_id.to_owned(),
        totp_removed,
        recovery_codes_removed,
        passkeys_removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_adds_otp_and_mfa_once() {
        assert_eq!(
            after_code(&AuthContext::password()).amr,
            ["pwd", "otp", "mfa"]
        );
        let twice = after_code(&after_code(&AuthContext::password()));
        assert_eq!(twice.amr, ["pwd", "otp", "mfa"]);
    }
}
