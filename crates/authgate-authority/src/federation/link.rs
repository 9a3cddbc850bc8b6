//! The one linking rule (issue 19 part 3): which local person a verified
//! upstream sign-in becomes.
//!
//! - an existing link (connection, subject) → that person (claims refreshed);
//! - else a local person with the same email is linked only when the
//!   upstream says the email is verified AND the operator trusts this
//!   connection for the email's domain; when that person has a password
//!   they must confirm with it first ([`LinkOutcome::NeedsConfirmation`],
//!   then [`confirm_link`]) — never by email alone;
//! - else a new person is created just in time, without a password, and
//!   only from a verified email (an unverified one could squat an address
//!   a trusted upstream later links into);
//! - disabled people and disabled connections sign nobody in.

use crate::Authority;
use crate::audit::audit_detail;
use crate::federation::identity::UpstreamIdentity;
use crate::net::AddressKey;
use crate::sign_in::{SignInError, authenticate_user};
use authgate_core::connection::{Connection, IdentityClaims, UserIdentity};
use authgate_core::model::{Role, User};
use authgate_core::secret;
use authgate_store::StoreError;
use serde_json::json;

/// The password hash of a person created from an upstream: not a PHC
/// string, so no password verifies against it.
pub const NO_PASSWORD: &str = "!";

/// Whether a stored password hash is a usable password.
pub fn has_password(u: &User) -> bool {
    u.password_hash.starts_with('$')
}

/// What an upstream sign-in became.
#[derive(Debug)]
pub enum LinkOutcome {
    /// Sign this person in.
    SignedIn {
        user: User,
        /// A person created just now.
        created: bool,
        /// A link created just now (to a new or an existing person).
        linked: bool,
    },
    /// A local person with a password has this verified email: they must
    /// enter their password to link the upstream account ([`confirm_link`]).
    NeedsConfirmation { user_id: String, email: String },
}

/// Why an upstream sign-in signs nobody in. Each is a page a person
/// understands.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("unknown connection")]
    UnknownConnection,
    #[error("the connection is disabled")]
    ConnectionDisabled,
    #[error("the account is disabled")]
    Disabled,
    /// The upstream gave no email, and there is no link yet.
    #[error("the identity provider did not share an email address")]
    NoEmail,
    /// The upstream did not say it verified the email (no link, no new person).
    #[error("the identity provider has not verified the email address")]
    EmailNotVerified,
    /// A local person has this email, and this upstream is not trusted for
    /// its domain: the email alone never links.
    #[error("an account with this email exists and cannot be linked from this provider")]
    EmailInUse,
    /// [`confirm_link`]: the password was wrong (or the attempt throttled).
    #[error("wrong password")]
    BadPassword,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl LinkError {
    /// The audit outcome word.
    fn reason(&self) -> &'static str {
        match self {
            Self::UnknownConnection => "unknown_connection",
            Self::ConnectionDisabled => "connection_disabled",
            Self::Disabled => "user_disabled",
            Self::NoEmail => "no_email",
            Self::EmailNotVerified => "email_not_verified",
            Self::EmailInUse => "email_in_use",
            Self::BadPassword => "bad_password",
            Self::Store(_) => "store_error",
        }
    }
}

fn claims_of(id: &UpstreamIdentity) -> IdentityClaims {
    IdentityClaims {
        email: id.email.clone(),
        email_verified: id.email_verified,
        name: id.name.clone(),
        groups: id.groups.clone(),
    }
}

fn event(auth: &Authority, name: &str, actor: Option<&str>, outcome: &str, id: &UpstreamIdentity) {
    audit_detail(
        auth,
        name,
        actor,
        None,
        None,
        None,
        outcome,
        json!({"connection": id.connection_id, "issuer": id.issuer, "subject": id.subject}),
    );
}

/// Records a refused upstream sign-in and passes the error on.
fn refuse(auth: &Authority, id: &UpstreamIdentity, actor: Option<&str>, e: LinkError) -> LinkError {
    event(auth, "federation.sign_in.refused", actor, e.reason(), id);
    e
}

/// The connection `id` names, enabled.
pub async fn enabled_connection(auth: &Authority, id: &str) -> Result<Connection, LinkError> {
    let c = auth
        .store
        .get_connection(id)
        .await?
        .ok_or(LinkError::UnknownConnection)?;
    if c.disabled {
        return Err(LinkError::ConnectionDisabled);
    }
    Ok(c)
}

/// Applies the linking rule to a verified upstream sign-in. Audits every
/// outcome (`federation.sign_in.succeeded`, `federation.link.created`,
/// `federation.user.created`, `federation.sign_in.refused`).
pub async fn sign_in_upstream(
    auth: &Authority,
    id: &UpstreamIdentity,
) -> Result<LinkOutcome, LinkError> {
    let conn = enabled_connection(auth, &id.connection_id)
        .await
        .map_err(|e| refuse(auth, id, None, e))?;
    let now = auth.clock.now();
    let claims = claims_of(id);

    if let Some(link) = auth.store.get_user_identity(&conn.id, &id.subject).await? {
        let user = auth.store.get_user(&link.user_id).await?;
        let Some(user) = user else {
            // Cannot happen (links go with their person); refuse rather
            // than guess.
            return Err(refuse(
                auth,
                id,
                None,
                LinkError::Store(StoreError::Backend("a link names a missing person".into())),
            ));
        };
        if user.disabled {
            return Err(refuse(auth, id, Some(&user.id), LinkError::Disabled));
        }
        auth.store
            .touch_user_identity(&conn.id, &id.subject, &claims, now)
            .await?;
        event(
            auth,
            "federation.sign_in.succeeded",
            Some(&user.id),
            "ok",
            id,
        );
        return Ok(LinkOutcome::SignedIn {
            user,
            created: false,
            linked: false,
        });
    }

    let Some(email) = id.email.as_deref().map(str::to_lowercase) else {
        return Err(refuse(auth, id, None, LinkError::NoEmail));
    };
    if !id.email_verified {
        return Err(refuse(auth, id, Some(&email), LinkError::EmailNotVerified));
    }
    if let Some(existing) = auth.store.get_user_by_email(&email).await? {
        if !conn.trusts_email_domain(&email) {
            return Err(refuse(auth, id, Some(&existing.id), LinkError::EmailInUse));
        }
        if existing.disabled {
            return Err(refuse(auth, id, Some(&existing.id), LinkError::Disabled));
        }
        // A self-made account whose address was never verified proves
        // nothing about who chose its password: whoever typed the address.
        // An upstream trusted for the domain now vouches for the address,
        // so its owner gets the account; the unproven password, the name
        // typed with it and whatever they opened are dropped (otherwise
        // the owner would be asked for a password only the squatter knows).
        let mut existing = existing;
        if crate::signup::needs_verification(&existing) {
            existing.password_hash = NO_PASSWORD.to_owned();
            existing.name = id.name.clone().filter(|n| !n.trim().is_empty());
            auth.store.update_user(&existing).await?;
            crate::manage::end_sessions_and_grants(auth, &existing.id).await?;
            event(
                auth,
                "federation.link.unverified_account_claimed",
                Some(&existing.id),
                "ok",
                id,
            );
        }
        if has_password(&existing) {
            event(
                auth,
                "federation.link.confirmation_asked",
                Some(&existing.id),
                "pending",
                id,
            );
            return Ok(LinkOutcome::NeedsConfirmation {
                user_id: existing.id,
                email,
            });
        }
        link(auth, id, &existing.id, &claims).await?;
        // The upstream vouched for the address: it is verified now.
        if !existing.email_verified {
            existing.email_verified = true;
            auth.store.update_user(&existing).await?;
        }
        event(
            auth,
            "federation.sign_in.succeeded",
            Some(&existing.id),
            "ok",
            id,
        );
        return Ok(LinkOutcome::SignedIn {
            user: existing,
            created: false,
            linked: true,
        });
    }

    let user = User {
        id: secret::generate_id(auth.rng.as_ref()).map_err(StoreError::from)?,
        email: email.clone(),
        name: id.name.clone().filter(|n| !n.trim().is_empty()),
        password_hash: NO_PASSWORD.to_owned(),
        disabled: false,
        role: Role::User,
        created_at: now,
        // Only an upstream that vouched for the email gets here.
        email_verified: true,
        signed_up: false,
    };
    match auth.store.insert_user(&user).await {
        Ok(()) => {}
        // Someone took the email between the look-up and the insert: sign
        // in again applies the rule to them.
        Err(StoreError::Conflict(_)) => {
            return Err(refuse(auth, id, Some(&email), LinkError::EmailInUse));
        }
        Err(e) => return Err(e.into()),
    }
    audit_detail(
        auth,
        "federation.user.created",
        Some(&user.id),
        None,
        None,
        None,
        "ok",
        json!({"connection": conn.id, "email": user.email}),
    );
    link(auth, id, &user.id, &claims).await?;
    event(
        auth,
        "federation.sign_in.succeeded",
        Some(&user.id),
        "ok",
        id,
    );
    Ok(LinkOutcome::SignedIn {
        user,
        created: true,
        linked: true,
    })
}

async fn link(
    auth: &Authority,
    id: &UpstreamIdentity,
    user_id: &str,
    claims: &IdentityClaims,
) -> Result<(), LinkError> {
    let now = auth.clock.now();
    auth.store
        .insert_user_identity(&UserIdentity {
            connection_id: id.connection_id.clone(),
            subject: id.subject.clone(),
            user_id: user_id.to_owned(),
            claims: claims.clone(),
            created_at: now,
            last_seen_at: now,
        })
        .await?;
    event(auth, "federation.link.created", Some(user_id), "ok", id);
    Ok(())
}

/// The person asked by [`LinkOutcome::NeedsConfirmation`] entered
/// `password`: checked like a sign-in (throttle, audit), then the rule is
/// checked again (the person, email and trust may have changed since) and
/// the link made.
pub async fn confirm_link(
    auth: &Authority,
    id: &UpstreamIdentity,
    user_id: &str,
    password: &str,
    address: AddressKey,
) -> Result<User, LinkError> {
    let conn = enabled_connection(auth, &id.connection_id)
        .await
        .map_err(|e| refuse(auth, id, Some(user_id), e))?;
    let email = id
        .email
        .as_deref()
        .map(str::to_lowercase)
        .unwrap_or_default();
    let user = match authenticate_user(auth, &email, password, address).await {
        Ok(u) => u,
        Err(SignInError::Disabled) => {
            return Err(refuse(auth, id, Some(user_id), LinkError::Disabled));
        }
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(_) => return Err(refuse(auth, id, Some(user_id), LinkError::BadPassword)),
    };
    if user.id != user_id || !id.email_verified || !conn.trusts_email_domain(&user.email) {
        return Err(refuse(auth, id, Some(user_id), LinkError::EmailInUse));
    }
    match link(auth, id, &user.id, &claims_of(id)).await {
        Ok(()) => {}
        // Confirmed twice (a second tab): the link exists, and names this
        // person only if it was this person's.
        Err(LinkError::Store(StoreError::Conflict(_))) => {
            let existing = auth.store.get_user_identity(&conn.id, &id.subject).await?;
            if existing.is_none_or(|l| l.user_id != user.id) {
                return Err(refuse(auth, id, Some(user_id), LinkError::EmailInUse));
            }
        }
        Err(e) => return Err(e),
    }
    event(
        auth,
        "federation.sign_in.succeeded",
        Some(&user.id),
        "ok",
        id,
    );
    Ok(user)
}
