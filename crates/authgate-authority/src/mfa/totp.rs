//! The authenticator app (TOTP, RFC 6238) through `totp-rs`: SHA-1,
//! 6 digits, 30-second steps, one step of clock skew either way — what
//! every authenticator app does by default.
//!
//! - The secret (160 random bits) is sealed with the key-encryption key,
//!   bound to the person (`totp:<user id>` as associated data, so a sealed
//!   secret copied to another person's row does not open).
//! - An enrolment is unconfirmed until the person types a code from it:
//!   until then it is no second factor, and it may be replaced.
//! - Each time step is accepted once, and never one older than the newest
//!   accepted (the store does this atomically): a code seen over a
//!   shoulder or replayed is refused.

use super::{MfaError, check_throttle, event, failed, succeeded};
use crate::Authority;
use crate::net::AddressKey;
use authgate_core::model::{TotpRecord, User};
use authgate_core::secret;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;
pub const SKEW_STEPS: u16 = 1;
/// Length of a new secret (RFC 4226 recommends 160 bits).
pub const SECRET_BYTES: usize = 20;
/// An unconfirmed enrolment shown again (a reloaded page shows the same
/// QR code) while younger than this; older ones are replaced.
pub const ENROLMENT_REUSE_SECS: i64 = 600;

/// What the person needs to add the authenticator to their app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The `otpauth://totp/...` URI (what the QR code holds).
    pub uri: String,
    /// The secret in base32, for typing by hand.
    pub secret_base32: String,
}

/// What a person has set up, for the account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    None,
    /// Enrolment started, not confirmed.
    Pending,
    Active,
}

fn context(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// `totp-rs` refuses a `:` in either label part.
fn label(s: &str) -> String {
    s.replace(':', " ")
}

fn totp(auth: &Authority, secret: Vec<u8>, account: &str) -> Result<Totp, MfaError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_account_name(label(account))
        .with_issuer(Some(label(&auth.settings.raw.instance_name)))
        .build()
        .map_err(|_| MfaError::Crypto)
}

fn open(auth: &Authority, r: &TotpRecord) -> Result<Vec<u8>, MfaError> {
    auth.kek
        .open(&r.secret_sealed, &context(&r.user_id))
        .map_err(|_| MfaError::Crypto)
}

/// A code as typed: spaces allowed ("123 456"), otherwise exactly the
/// digits.
fn normalize(code: &str) -> Option<String> {
    let c: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (c.len() == usize::from(DIGITS) && c.bytes().all(|b| b.is_ascii_digit())).then_some(c)
}

/// The step `code` matches at `now` (within the skew), if any.
fn matching_step(t: &Totp, code: &str, now: i64) -> Option<i64> {
    let code = normalize(code)?;
    let now = u64::try_from(now).ok()?;
    t.check(&code, now).and_then(|s| i64::try_from(s).ok())
}

pub async fn status(auth: &Authority, user_id: &str) -> Result<Status, MfaError> {
    Ok(match auth.store.get_totp(user_id).await? {
        None => Status::None,
        Some(r) if r.confirmed_at.is_some() => Status::Active,
        Some(_) => Status::Pending,
    })
}

/// Whether the person has a confirmed authenticator.
pub async fn is_active(auth: &Authority, user_id: &str) -> Result<bool, MfaError> {
    Ok(status(auth, user_id).await? == Status::Active)
}

/// Starts (or shows again) the enrolment of an authenticator for `user`.
pub async fn start_enrolment(auth: &Authority, user: &User) -> Result<Enrolment, MfaError> {
    let now = auth.clock.now();
    if let Some(r) = auth.store.get_totp(&user.id).await? {
        if r.confirmed_at.is_some() {
            return Err(MfaError::AlreadyEnrolled);
        }
        if now - r.created_at < ENROLMENT_REUSE_SECS
            && let Ok(secret) = open(auth, &r)
        {
            return enrolment(auth, secret, user);
        }
    }
    let mut secret = vec![0u8; SECRET_BYTES];
    auth.rng.fill(&mut secret)?;
    let sealed = auth
        .kek
        .seal(auth.rng.as_ref(), &secret, &context(&user.id))
        .map_err(|_| MfaError::Crypto)?;
    let record = TotpRecord {
        user_id: user.id.clone(),
        id: secret::generate_id(auth.rng.as_ref())?,
        secret_sealed: sealed,
        created_at: now,
        confirmed_at: None,
        last_used_step: None,
    };
    if !auth.store.begin_totp(&record).await? {
        // Confirmed meanwhile (another tab).
        return Err(MfaError::AlreadyEnrolled);
    }
    enrolment(auth, secret, user)
}

fn enrolment(auth: &Authority, secret: Vec<u8>, user: &User) -> Result<Enrolment, MfaError> {
    let t = totp(auth, secret, &user.email)?;
    Ok(Enrolment {
        uri: t.to_url().map_err(|_| MfaError::Crypto)?,
        secret_base32: t.secret().to_base32(),
    })
}

/// Confirms the person's pending enrolment with a code from their app:
/// from now on it is a second factor. Audited `mfa.enrolled`.
pub async fn confirm(
    auth: &Authority,
    user: &User,
    code: &str,
    address: AddressKey,
) -> Result<(), MfaError> {
    check_throttle(auth, &user.id, address)?;
    let r = match auth.store.get_totp(&user.id).await? {
        Some(r) if r.confirmed_at.is_none() => r,
        Some(_) => return Err(MfaError::AlreadyEnrolled),
        None => return Err(MfaError::Expired),
    };
    let t = totp(auth, open(auth, &r)?, &user.email)?;
    let now = auth.clock.now();
    let Some(step) = matching_step(&t, code, now) else {
        failed(auth, &user.id, address, "totp", "wrong code at enrolment");
        return Err(MfaError::WrongCode);
    };
    if !auth.store.confirm_totp(&user.id, &r.id, step, now).await? {
        return Err(MfaError::Expired);
    }
    succeeded(auth, &user.id, address);
    event(
        auth,
        "mfa.enrolled",
        &user.id,
        "ok",
        json!({"method": "totp"}),
    );
    Ok(())
}

/// Checks a code from the person's confirmed authenticator, spending its
/// time step.
pub async fn verify(
    auth: &Authority,
    user_id: &str,
    code: &str,
    address: AddressKey,
) -> Result<(), MfaError> {
    check_throttle(auth, user_id, address)?;
    let r = match auth.store.get_totp(user_id).await? {
        Some(r) if r.confirmed_at.is_some() => r,
        _ => return Err(MfaError::NotEnrolled),
    };
    // The account name does not take part in the code.
    let t = totp(auth, open(auth, &r)?, "-")?;
    let Some(step) = matching_step(&t, code, auth.clock.now()) else {
        failed(auth, user_id, address, "totp", "wrong code");
        return Err(MfaError::WrongCode);
    };
    if !auth.store.use_totp_step(user_id, step).await? {
        failed(auth, user_id, address, "totp", "code already used");
        return Err(MfaError::Reused);
    }
    succeeded(auth, user_id, address);
    event(
        auth,
        "mfa.verified",
        user_id,
        "ok",
        json!({"method": "totp"}),
    );
    Ok(())
}

/// Removes the person's authenticator; their recovery codes go with it
/// only when no other factor (a passkey) is left for them to stand in for
/// (`policy::drop_recovery_codes_without_factor`). `actor` is who did it.
/// Audited `mfa.removed`.
pub async fn remove(auth: &Authority, actor: &str, user_id: &str) -> Result<bool, MfaError> {
    let done = auth.store.delete_totp(user_id).await?;
    super::policy::drop_recovery_codes_without_factor(auth, user_id).await?;
    if done {
        event(
            auth,
            "mfa.removed",
            actor,
            "ok",
            json!({"method": "totp", "user": user_id}),
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_optional_spaces() {
        assert_eq!(normalize("123456").as_deref(), Some("123456"));
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("12345"), None);
        assert_eq!(normalize("1234567"), None);
        assert_eq!(normalize("12a456"), None);
        assert_eq!(normalize("１２３４５６"), None);
    }

    /// RFC 6238 Appendix B's SHA-1 vectors (the 8-digit codes' last six
    /// digits are the 6-digit codes: the truncation is modulo 10^digits).
    #[test]
    fn rfc_6238_vectors_match_within_one_step() {
        let t = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(b"12345678901234567890".to_vec())
            .build()
            .unwrap();
        assert_eq!(matching_step(&t, "287082", 59), Some(1));
        assert_eq!(matching_step(&t, "081804", 1_111_111_109), Some(37_037_036));
        // One step late or early is accepted, two are not.
        assert_eq!(
            matching_step(&t, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(matching_step(&t, "081804", 1_111_111_109 + 60), None);
        assert_eq!(matching_step(&t, "081804", 1_111_111_109 - 60), None);
        assert_eq!(matching_step(&t, "000000", 59), None);
        assert_eq!(matching_step(&t, "287082", -5), None);
    }
}
