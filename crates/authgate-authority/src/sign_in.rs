//! Signing a person in with an email address and a password: the throttle
//! (per account and address, per address, and the account slow-down), the
//! password check (a missing account costs the same Argon2 work as a wrong
//! password) and the audit trail. The sign-in page is the server's
//! `endpoints::login`; it turns these outcomes into pages.

use crate::Authority;
use crate::audit::audit_detail;
use crate::net::AddressKey;
use crate::throttle::Refusal;
use authgate_core::model::User;
use authgate_store::StoreError;

/// Longest password accepted (Argon2 cost is linear in it).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Why a sign-in did not succeed.
#[derive(Debug)]
pub enum SignInError {
    /// Too many failures for this account or address: wait.
    Throttled(Refusal),
    /// Wrong email or password (which of the two is not said, on purpose).
    BadCredentials,
    /// The right password for a disabled account: said plainly, since only
    /// someone who knows the password learns it.
    Disabled,
    /// The store failed.
    Store(StoreError),
}

/// `authgate_sign_ins_total{outcome}`: `success`, `failure` (wrong email or
/// password, disabled account) and `lockout` (refused by the throttle
/// before the password was looked at).
pub const SIGN_INS: &str = "authgate_sign_ins_total";

/// Checks `email` (already trimmed and lower-cased) and `password` from
/// `address`, counting failures for the throttle and auditing the outcome
/// (`sign_in.succeeded`, `.failed`, `.disabled`, `.lockout`, `.locked_out`,
/// `.slowed_down`).
pub async fn authenticate_user(
    auth: &Authority,
    email: &str,
    password: &str,
    address: AddressKey,
) -> Result<User, SignInError> {
    let now = auth.clock.now();
    let event = |event: &str, actor: &str, outcome: &str| {
        audit_detail(
            auth,
            event,
            Some(actor),
            None,
            None,
            None,
            outcome,
            serde_json::Value::Null,
        );
    };
    if let Err(refusal) = auth.login_throttle.check(email, address, now) {
        let name = match refusal {
            Refusal::Locked { .. } => "sign_in.locked_out",
            Refusal::SlowedDown { .. } => "sign_in.slowed_down",
        };
        event(name, email, "refused");
        metrics::counter!(SIGN_INS, "outcome" => "lockout").increment(1);
        return Err(SignInError::Throttled(refusal));
    }
    if email.is_empty()
        || password.is_empty()
        || password.len() > MAX_PASSWORD_BYTES
        || email.len() > MAX_EMAIL_BYTES
    {
        metrics::counter!(SIGN_INS, "outcome" => "failure").increment(1);
        return Err(SignInError::BadCredentials);
    }
    let user = auth
        .store
        .get_user_by_email(email)
        .await
        .map_err(SignInError::Store)?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = auth.passwords.verify(password.to_owned(), hash).await;
    if ok && user.as_ref().is_some_and(|u| u.disabled) {
        event("sign_in.disabled", email, "refused");
        return Err(SignInError::Disabled);
    }
    let Some(user) = user.filter(|_| ok) else {
        let locked = auth.login_throttle.fail(email, address, now);
        event("sign_in.failed", email, "refused");
        if locked {
            event("sign_in.lockout", email, "locked");
        }
        metrics::counter!(SIGN_INS, "outcome" => "failure").increment(1);
        return Err(SignInError::BadCredentials);
    };
    metrics::counter!(SIGN_INS, "outcome" => "success").increment(1);
    auth.login_throttle.succeed(email, address);
    event("sign_in.succeeded", &user.id, "ok");
    Ok(user)
}
