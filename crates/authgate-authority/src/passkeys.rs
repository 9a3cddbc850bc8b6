//! Passkeys: WebAuthn registration and sign-in through `webauthn-rs`
//! (every ceremony check — challenge, origin, RP id hash, signature, user
//! verification, signature counter — is the library's; this module keeps
//! the state, the records and the rules around them).
//!
//! - The relying party is the issuer: RP id = its host, origin = its
//!   origin. An issuer on an IP address cannot have passkeys (browsers
//!   refuse an IP as RP id) and gets [`PasskeyError::Unavailable`].
//! - Every passkey is a discoverable credential with user verification
//!   required, so one sign-in flow serves both uses: password-less sign-in,
//!   and the second factor after a password (then the passkey must belong
//!   to the person who gave the password).
//! - A ceremony's state waits in the browser's session, wrapped with a
//!   random id and an expiry; the id is spent in the store's nonce table
//!   when the ceremony finishes, so a state (and its challenge) is used
//!   once even when it travels in a signed cookie. A registration's state
//!   also names the person it was started for, and finishes only for them
//!   (a browser that changed hands mid-ceremony cannot give one person's
//!   challenge to another).
//! - A signature counter that goes backwards is a possible clone: refused
//!   and audited (`passkey.clone_suspected`).

use crate::Authority;
use crate::audit::audit_detail;
use authgate_core::model::{AuthContext, PasskeyRecord, User};
use authgate_core::secret;
use authgate_store::StoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// How long a ceremony may take (the browser's own timeout is shorter).
pub const CEREMONY_TTL: i64 = 300;
/// Most passkeys one person may register.
pub const MAX_PASSKEYS_PER_USER: usize = 20;
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Largest browser response accepted (attestation objects are small).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Passkeys cannot work with this issuer (said once, at the page).
    #[error("passkeys are not available on this server: {0}")]
    Unavailable(String),
    /// The ceremony expired, was already used, or its state is missing.
    #[error("the passkey request expired; start again")]
    Expired,
    /// The browser's answer failed a WebAuthn check.
    #[error("the passkey could not be verified")]
    Invalid,
    /// No passkey with that credential is registered here.
    #[error("this passkey is not registered here")]
    Unknown,
    /// The passkey belongs to someone else than the person signing in.
    #[error("this passkey belongs to another account")]
    WrongPerson,
    /// The signature counter went backwards: a possible clone.
    #[error("this passkey looks cloned and was refused")]
    CloneSuspected,
    /// The person is disabled (or gone).
    #[error("this account is disabled")]
    Disabled,
    /// A name that is empty, too long or has control characters.
    #[error("{0}")]
    BadName(&'static str),
    /// Already at [`MAX_PASSKEYS_PER_USER`].
    #[error("you have the most passkeys allowed; remove one first")]
    TooMany,
    /// The same authenticator is already registered.
    #[error("this passkey is already registered")]
    Duplicate,
    /// The registration was started for another person.
    #[error("this passkey request was started for another account; start again")]
    Foreign,
    /// No second factor is owed to enrol (the person has one already, or
    /// none is required): enrolment is no way around a second factor.
    #[error("no second factor can be set up on this sign-in")]
    NotOwed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A ceremony waiting for the browser: kept in the session as JSON.
#[derive(Serialize, Deserialize)]
pub struct Pending<S> {
    id: String,
    expires_at: i64,
    /// The person a registration was started for (a sign-in ceremony names
    /// nobody: the authenticator says who).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    state: S,
}

/// The relying party for this issuer.
fn relying_party(auth: &Authority) -> Result<Webauthn, PasskeyError> {
    let issuer = &auth.settings.issuer;
    let url = Url::parse(issuer).map_err(|_| PasskeyError::Unavailable("bad issuer".into()))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        _ => {
            return Err(PasskeyError::Unavailable(
                "the issuer must be a host name (not an IP address) for passkeys".into(),
            ));
        }
    };
    let origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|_| PasskeyError::Unavailable("bad issuer origin".into()))?;
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name(&auth.settings.raw.instance_name).build())
        .map_err(|e| PasskeyError::Unavailable(format!("{e}")))
}

/// Whether passkeys can be offered on this server's pages.
pub fn available(auth: &Authority) -> bool {
    relying_party(auth).is_ok()
}

/// The WebAuthn user handle of a person: derived from their id (so it
/// needs no column), 16 bytes of its SHA-256.
fn user_handle(user_id: &str) -> Uuid {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    Uuid::from_bytes(b)
}

fn wrap<S: Serialize>(
    auth: &Authority,
    user: Option<&str>,
    state: S,
) -> Result<Value, PasskeyError> {
    let p = Pending {
        id: secret::generate(auth.rng.as_ref()).map_err(StoreError::from)?,
        expires_at: auth.clock.now() + CEREMONY_TTL,
        user: user.map(str::to_owned),
        state,
    };
    serde_json::to_value(p).map_err(|_| PasskeyError::Invalid)
}

/// Opens a pending ceremony started for `user` and spends it (once, even
/// across instances).
async fn unwrap_once<S: for<'de> Deserialize<'de>>(
    auth: &Authority,
    pending: Option<&Value>,
    user: Option<&str>,
) -> Result<S, PasskeyError> {
    let p: Pending<S> = pending
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or(PasskeyError::Expired)?;
    if p.user.as_deref() != user {
        return Err(PasskeyError::Foreign);
    }
    let now = auth.clock.now();
    if p.expires_at <= now {
        return Err(PasskeyError::Expired);
    }
    let fresh = auth
        .store
        .use_nonce(&format!("webauthn:{}", p.id), p.expires_at, now)
        .await?;
    if !fresh {
        return Err(PasskeyError::Expired);
    }
    Ok(p.state)
}

fn check_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PasskeyError::BadName("give the passkey a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(PasskeyError::BadName(
            "the name is too long (64 characters at most)",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(PasskeyError::BadName("the name has control characters"));
    }
    Ok(name.to_owned())
}

fn parse_passkey(r: &PasskeyRecord) -> Result<Passkey, PasskeyError> {
    serde_json::from_value(r.credential.clone())
        .map_err(|_| StoreError::Backend(format!("passkey {} is unreadable", r.id)).into())
}

/// Starts registering a passkey for `user`: the options for
/// `navigator.credentials.create` (the `publicKey` member) and the state
/// to keep in the session.
pub async fn start_registration(
    auth: &Authority,
    user: &User,
) -> Result<(Value, Value), PasskeyError> {
    let rp = relying_party(auth)?;
    let existing = auth.store.list_passkeys_for_user(&user.id).await?;
    if existing.len() >= MAX_PASSKEYS_PER_USER {
        return Err(PasskeyError::TooMany);
    }
    let exclude = existing
        .iter()
        .filter_map(|r| parse_passkey(r).ok())
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let display = user.name.clone().unwrap_or_else(|| user.email.clone());
    let (ccr, reg) = rp
        .start_passkey_registration(user_handle(&user.id), &user.email, &display, Some(exclude))
        .map_err(|_| PasskeyError::Invalid)?;
    let mut options = serde_json::to_value(&ccr)
        .map_err(|_| PasskeyError::Invalid)?
        .get("publicKey")
        .cloned()
        .ok_or(PasskeyError::Invalid)?;
    // Discoverable credentials: sign-in starts without an email, and the
    // authenticator finds the account (webauthn-rs asks for "discouraged").
    if let Some(sel) = options
        .get_mut("authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), json!("required"));
        sel.insert("requireResidentKey".into(), json!(true));
    }
    Ok((options, wrap(auth, Some(&user.id), reg)?))
}

/// Finishes a registration: verifies the browser's answer against the
/// pending state and stores the passkey under `name`.
pub async fn finish_registration(
    auth: &Authority,
    user: &User,
    pending: Option<&Value>,
    response: &str,
    name: &str,
) -> Result<PasskeyRecord, PasskeyError> {
    let name = check_name(name)?;
    let reg: PasskeyRegistration = unwrap_once(auth, pending, Some(&user.id)).await?;
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(PasskeyError::Invalid);
    }
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(response).map_err(|_| PasskeyError::Invalid)?;
    let rp = relying_party(auth)?;
    let passkey = rp.finish_passkey_registration(&answer, &reg).map_err(|e| {
        tracing::info!(error = %e, "passkey registration refused");
        PasskeyError::Invalid
    })?;
    let now = auth.clock.now();
    let record = PasskeyRecord {
        id: secret::generate_id(auth.rng.as_ref()).map_err(StoreError::from)?,
        user_id: user.id.clone(),
        credential_id: URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref()),
        name,
        credential: serde_json::to_value(&passkey).map_err(|_| PasskeyError::Invalid)?,
        created_at: now,
        last_used_at: None,
    };
    match auth.store.insert_passkey(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(PasskeyError::Duplicate),
        Err(e) => return Err(e.into()),
    }
    event(
        auth,
        "passkey.registered",
        &user.id,
        "ok",
        json!({"passkey": record.id, "name": record.name}),
    );
    Ok(record)
}

/// Starts a sign-in with a passkey: options for `navigator.credentials.get`
/// (no account named: the authenticator offers its discoverable
/// credentials) and the state to keep.
pub fn start_sign_in(auth: &Authority) -> Result<(Value, Value), PasskeyError> {
    let rp = relying_party(auth)?;
    let (rcr, state) = rp
        .start_discoverable_authentication()
        .map_err(|_| PasskeyError::Invalid)?;
    let options = serde_json::to_value(&rcr)
        .map_err(|_| PasskeyError::Invalid)?
        .get("publicKey")
        .cloned()
        .ok_or(PasskeyError::Invalid)?;
    Ok((options, wrap(auth, None, state)?))
}

/// A passkey sign-in that passed: who, and the methods used.
pub struct PasskeySignIn {
    pub user: User,
    pub passkey_name: String,
    /// `hwk` (a device-bound key) or `swk` (a synced, backup-eligible
    /// one), RFC 8176.
    pub method: &'static str,
}

impl PasskeySignIn {
    /// The context of a password-less sign-in: the key plus user
    /// verification (PIN or biometric) is two factors.
    pub fn context(&self) -> AuthContext {
        AuthContext {
            amr: vec![self.method.into(), "user".into(), "mfa".into()],
            ..AuthContext::default()
        }
    }

    /// The context after a password (`first`) and this passkey.
    pub fn after(&self, first: &AuthContext) -> AuthContext {
        after(first, self.method)
    }
}

/// The context after a first factor and a passkey used with `method`.
pub(crate) fn after(first: &AuthContext, method: &str) -> AuthContext {
    let mut ctx = first.clone();
    for m in [method, "mfa"] {
        if !ctx.amr.iter().any(|a| a == m) {
            ctx.amr.push(m.into());
        }
    }
    ctx
}

/// RFC 8176's name for a passkey: `swk` when it may be synced
/// (backup-eligible), `hwk` when it is bound to its device.
fn method(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

/// The method (`hwk`/`swk`) of a stored passkey. `webauthn-rs` shows the
/// backup flag only on an authentication result (its credential's fields
/// are behind a "danger" feature), so it is read from the stored form; an
/// unreadable flag claims the weaker `swk`.
pub(crate) fn method_of(r: &PasskeyRecord) -> &'static str {
    let be = r
        .credential
        .pointer("/cred/backup_eligible")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    method(be)
}

/// Finishes a passkey sign-in. With `expected_user` (a second factor) the
/// passkey must be that person's.
pub async fn finish_sign_in(
    auth: &Authority,
    pending: Option<&Value>,
    response: &str,
    expected_user: Option<&str>,
) -> Result<PasskeySignIn, PasskeyError> {
    let state: DiscoverableAuthentication = unwrap_once(auth, pending, None).await?;
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(PasskeyError::Invalid);
    }
    let answer: PublicKeyCredential =
        serde_json::from_str(response).map_err(|_| PasskeyError::Invalid)?;
    let rp = relying_party(auth)?;
    let (handle, cred_id) = rp
        .identify_discoverable_authentication(&answer)
        .map_err(|_| PasskeyError::Invalid)?;
    let cred_id = URL_SAFE_NO_PAD.encode(cred_id);
    let Some(mut record) = auth.store.get_passkey_by_credential_id(&cred_id).await? else {
        event(
            auth,
            "passkey.sign_in.failed",
            "(unknown)",
            "refused",
            json!({"reason": "unknown credential"}),
        );
        return Err(PasskeyError::Unknown);
    };
    if user_handle(&record.user_id) != handle {
        event(
            auth,
            "passkey.sign_in.failed",
            &record.user_id,
            "refused",
            json!({"reason": "user handle mismatch"}),
        );
        return Err(PasskeyError::Invalid);
    }
    if expected_user.is_some_and(|u| u != record.user_id) {
        event(
            auth,
            "passkey.sign_in.failed",
            &record.user_id,
            "refused",
            json!({"reason": "second factor of another account"}),
        );
        return Err(PasskeyError::WrongPerson);
    }
    let mut passkey = parse_passkey(&record)?;
    let result = match rp.finish_discoverable_authentication_v2(&answer, state, &passkey) {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            event(
                auth,
                "passkey.clone_suspected",
                &record.user_id,
                "refused",
                json!({"passkey": record.id}),
            );
            return Err(PasskeyError::CloneSuspected);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey sign-in refused");
            event(
                auth,
                "passkey.sign_in.failed",
                &record.user_id,
                "refused",
                json!({"passkey": record.id}),
            );
            return Err(PasskeyError::Invalid);
        }
    };
    let user = match auth.store.get_user(&record.user_id).await? {
        Some(u) if !u.disabled => u,
        _ => {
            event(
                auth,
                "passkey.sign_in.failed",
                &record.user_id,
                "refused",
                json!({"reason": "disabled"}),
            );
            return Err(PasskeyError::Disabled);
        }
    };
    passkey.update_credential(&result);
    record.credential = serde_json::to_value(&passkey).map_err(|_| PasskeyError::Invalid)?;
    record.last_used_at = Some(auth.clock.now());
    auth.store.update_passkey(&record).await?;
    let method = method(result.backup_eligible());
    event(
        auth,
        "passkey.sign_in.succeeded",
        &user.id,
        "ok",
        json!({"passkey": record.id, "second_factor": expected_user.is_some()}),
    );
    Ok(PasskeySignIn {
        user,
        passkey_name: record.name,
        method,
    })
}

/// A person's passkeys, oldest first.
pub async fn list(auth: &Authority, user_id: &str) -> Result<Vec<PasskeyRecord>, PasskeyError> {
    Ok(auth.store.list_passkeys_for_user(user_id).await?)
}

/// Renames one of the person's passkeys; `false` when it is not theirs.
pub async fn rename(
    auth: &Authority,
    user_id: &str,
    id: &str,
    name: &str,
) -> Result<bool, PasskeyError> {
    let name = check_name(name)?;
    let all = auth.store.list_passkeys_for_user(user_id).await?;
    let Some(mut p) = all.into_iter().find(|p| p.id == id) else {
        return Ok(false);
    };
    p.name = name;
    let done = auth.store.update_passkey(&p).await?;
    if done {
        event(
            auth,
            "passkey.renamed",
            user_id,
            "ok",
            json!({"passkey": id, "name": p.name}),
        );
    }
    Ok(done)
}

/// Removes one of the person's passkeys (`actor` is who did it: the person
/// or an administrator); `false` when it is not theirs. Their recovery
/// codes go with it only when no other factor (another passkey or the
/// authenticator app) is left for them to stand in for
/// (`mfa::policy::drop_recovery_codes_without_factor`).
pub async fn remove(
    auth: &Authority,
    actor: &str,
    user_id: &str,
    id: &str,
) -> Result<bool, PasskeyError> {
    let done = auth.store.delete_passkey(user_id, id).await?;
    if done {
        event(
            auth,
            "passkey.removed",
            actor,
            "ok",
            json!({"passkey": id, "user": user_id}),
        );
        // The passkey is gone whatever follows: a failure here leaves codes
        // that cannot be used anyway (a code stands in only while a factor
        // remains), so it is logged, not reported as a failed removal.
        if let Err(e) = crate::mfa::policy::drop_recovery_codes_without_factor(auth, user_id).await
        {
            tracing::error!(error = %e, "cannot delete the recovery codes left without a factor");
        }
    }
    Ok(done)
}

fn event(auth: &Authority, name: &str, actor: &str, outcome: &str, detail: Value) {
    audit_detail(auth, name, Some(actor), None, None, None, outcome, detail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  Laptop ").unwrap(), "Laptop");
        assert!(check_name("").is_err());
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name("a\nb").is_err());
        assert_eq!(check_name(&"é".repeat(64)).unwrap().chars().count(), 64);
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_handle("u1"), user_handle("u1"));
        assert_ne!(user_handle("u1"), user_handle("u2"));
    }

    #[test]
    fn a_second_factor_adds_the_key_and_mfa_once() {
        let s = PasskeySignIn {
            user: User {
                id: "u".into(),
                email: "a@example.com".into(),
                name: None,
                password_hash: String::new(),
                disabled: false,
                role: authgate_core::model::Role::User,
                created_at: 0,
                email_verified: false,
                signed_up: false,
            },
            passkey_name: "k".into(),
            method: "hwk",
        };
        assert_eq!(s.context().amr, ["hwk", "user", "mfa"]);
        assert_eq!(s.after(&AuthContext::password()).amr, ["pwd", "hwk", "mfa"]);
    }
}
