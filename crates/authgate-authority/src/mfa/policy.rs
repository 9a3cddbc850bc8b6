//! When a local password sign-in needs a second factor — the one place
//! of the rule, passkeys included:
//!
//! - A person with any second factor (a confirmed authenticator app or a
//!   passkey) gives one after the password, always: a passkey counts as
//!   enrolled ([`Factors`]), and using it after the password (or alone: a
//!   passkey with user verification is two factors) makes the sign-in
//!   multi-factor (`mfa` in `amr`, `authority::passkeys`).
//! - A person with none gives none, unless MFA is required for them — by
//!   `[mfa] required`, or by their organization (`require_mfa`, membership
//!   by the email's verified domain): then they enrol an authenticator app
//!   or a passkey before the sign-in completes ([`must_enrol`]; nothing
//!   else may be enrolled on a half-finished sign-in).
//! - A recovery code stands in for whichever second factor the person has
//!   (app or passkey), and only while they have one
//!   ([`Factors::take_recovery_codes`]): codes left over after the last
//!   factor went are no way around enrolling a new one. Removing a factor
//!   keeps the codes while another remains and deletes them with the last
//!   ([`drop_recovery_codes_without_factor`]).

use crate::Authority;
use authgate_core::model::User;
use authgate_store::StoreError;

/// What follows a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    /// Signed in.
    Done,
    /// Owes a code or a passkey.
    SecondFactor,
    /// Must enrol a second factor first.
    MustEnrol,
}

/// Whether a second factor is required for `user` by configuration or
/// their organization (an organization that is turned off requires
/// nothing here: its members cannot sign in with a password anyway).
pub async fn required_for(auth: &Authority, user: &User) -> Result<bool, StoreError> {
    if auth.settings.raw.mfa.required {
        return Ok(true);
    }
    Ok(crate::orgs::org_for_email(auth, &user.email)
        .await?
        .is_some_and(|o| o.require_mfa && !o.disabled))
}

/// The second factors a person has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    pub passkeys: bool,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.totp || self.passkeys
    }

    /// Whether a recovery code may stand in for a second factor (at the
    /// sign-in's step) and new ones may be made (account page): only
    /// while the person has a factor for them to stand in for.
    pub fn take_recovery_codes(&self) -> bool {
        self.any()
    }
}

pub async fn factors(auth: &Authority, user_id: &str) -> Result<Factors, StoreError> {
    let totp = auth
        .store
        .get_totp(user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some());
    let passkeys = !auth.store.list_passkeys_for_user(user_id).await?.is_empty();
    Ok(Factors { totp, passkeys })
}

/// After one of `user_id`'s factors was removed: deletes their recovery
/// codes when no factor is left for them to stand in for
/// ([`Factors::take_recovery_codes`]), and keeps them otherwise — a person
/// who turns the app off but keeps a passkey keeps their way back in.
/// Returns how many codes were deleted.
pub async fn drop_recovery_codes_without_factor(
    auth: &Authority,
    user_id: &str,
) -> Result<u64, StoreError> {
    if factors(auth, user_id).await?.take_recovery_codes() {
        return Ok(0);
    }
    auth.store.delete_recovery_codes(user_id).await
}

/// Whether a sign-in waiting for its second factor may set one up now:
/// only when `user` has none and one is required. Enrolment on that step
/// is never a way around a factor the person already has.
pub async fn must_enrol(auth: &Authority, user: &User) -> Result<bool, StoreError> {
    Ok(after_password(auth, user).await? == AfterPassword::MustEnrol)
}

/// What follows `user`'s correct password.
pub async fn after_password(auth: &Authority, user: &User) -> Result<AfterPassword, StoreError> {
    if factors(auth, &user.id).await?.any() {
        return Ok(AfterPassword::SecondFactor);
    }
    Ok(if required_for(auth, user).await? {
        AfterPassword::MustEnrol
    } else {
        AfterPassword::Done
    })
}
