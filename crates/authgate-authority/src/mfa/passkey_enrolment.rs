//! A passkey as the second factor a sign-in must enrol (`[mfa] required`
//! or the organization's `require_mfa`, and the person has none yet): the
//! same registration ceremony as the account page's
//! ([`passkeys::start_registration`], [`passkeys::finish_registration`]),
//! allowed only while [`policy::must_enrol`] holds, so it cannot add a
//! way in next to a factor the person already has. The finished
//! ceremony is the second factor of this sign-in: the key was made with
//! user verification and answered the challenge, as a passkey sign-in
//! would.

use crate::Authority;
use crate::mfa::policy;
use crate::passkeys::{self, PasskeyError};
use authgate_core::model::{AuthContext, PasskeyRecord, User};
use serde_json::{Value, json};

/// Starts registering `user`'s first second factor: the options for the
/// browser and the state to keep in the pending sign-in's session.
pub async fn start(auth: &Authority, user: &User) -> Result<(Value, Value), PasskeyError> {
    if !policy::must_enrol(auth, user).await? {
        return Err(PasskeyError::NotOwed);
    }
    passkeys::start_registration(auth, user).await
}

/// Finishes it: stores the passkey and returns it with the sign-in's
/// context after the first factor (`first`) and this passkey.
pub async fn finish(
    auth: &Authority,
    user: &User,
    first: &AuthContext,
    pending: Option<&Value>,
    response: &str,
    name: &str,
) -> Result<(PasskeyRecord, AuthContext), PasskeyError> {
    // Checked again: a factor may have been added since the options.
    if !policy::must_enrol(auth, user).await? {
        return Err(PasskeyError::NotOwed);
    }
    let record = passkeys::finish_registration(auth, user, pending, response, name).await?;
    let ctx = passkeys::after(first, passkeys::method_of(&record));
    super::event(
        auth,
        "mfa.enrolled",
        &user.id,
        "ok",
        json!({"method": "passkey", "passkey": record.id}),
    );
    Ok((record, ctx))
}
