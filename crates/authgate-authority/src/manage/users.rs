//! People: add, edit, set the role, disable or enable, delete, sign out
//! everywhere, password links, and what they allowed.

use super::actor::{Actor, record};
use super::error::{AdminError, AdminResult};
use crate::Authority;
use crate::manage::types::*;
use crate::setup_links::{self as setup, Purpose};
use authgate_core::model::{Role, User};
use authgate_core::secret;
use authgate_store::{StoreError, UserQuery};
use serde_json::json;

pub fn valid_email(e: &str) -> bool {
    e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && d.contains('.')
                && !d.contains('@')
                && !d.starts_with('.')
                && !d.ends_with('.')
        })
}

pub async fn get_user(state: &Authority, id: &str) -> AdminResult<User> {
    state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user with id {id:?}")))
}

/// How long a password link is valid.
pub const PASSWORD_LINK_TTL: i64 = 24 * 3600;

pub async fn create_user(
    state: &Authority,
    actor: &Actor,
    input: UserInput,
) -> AdminResult<(User, Option<OneTimeLink>)> {
    let email = clean_email(&input.email)?;
    let name = clean_name(input.name.as_deref())?;
    let password_hash = match input.password {
        Some(pw) => {
            crate::passwords::check_password_policy(&pw)
                .map_err(|e| AdminError::invalid("password", e))?;
            state.passwords.hash(pw, state.rng.clone()).await
        }
        // Not a PHC string: no password verifies against it.
        None => "!".to_owned(),
    };
    if password_hash.is_empty() {
        return Err(AdminError::Internal("password hashing failed".into()));
    }
    let needs_link = password_hash == "!";
    let u = User {
        id: secret::generate_id(state.rng.as_ref())?,
        email: email.clone(),
        name,
        password_hash,
        disabled: false,
        role: input.role,
        created_at: state.clock.now(),
        email_verified: input.email_verified,
        signed_up: false,
    };
    state
        .store
        .insert_user(&u)
        .await
        .map_err(|e| email_taken(e, &email))?;
    record(
        state,
        actor,
        "admin.user.created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "role": u.role.as_str()}),
    );
    let link = if needs_link {
        Some(
            setup::create_link(
                state,
                Purpose::PasswordReset,
                Some(&u.id),
                PASSWORD_LINK_TTL,
            )
            .await?,
        )
    } else {
        None
    };
    Ok((u, link))
}

/// How long an invitation link works.
pub const INVITATION_TTL: i64 = 7 * 24 * 3600;

/// Invites a person: an account with no password yet (role `user`), and
/// a single-use link bound to its address, for the caller to mail. An
/// address whose account never got a password (an invitation not yet
/// accepted) gets a fresh link; any other account is a conflict. The
/// invitation is revoked by deleting the person.
pub async fn invite_user(
    state: &Authority,
    actor: &Actor,
    input: InvitationInput,
) -> AdminResult<(User, OneTimeLink)> {
    let email = crate::signup::clean_email(&input.email)
        .map_err(|_| AdminError::invalid("email", "is not an email address"))?;
    let name = crate::signup::clean_name(input.name.as_deref().unwrap_or(""))
        .map_err(|_| AdminError::invalid("name", "must be one line of at most 200 characters"))?;
    let user = match state.store.get_user_by_email(&email).await? {
        Some(u)
            if !crate::federation::link::has_password(&u) && !u.disabled && !u.email_verified =>
        {
            u
        }
        Some(_) => {
            return Err(AdminError::conflict(
                "email",
                format!("{email} already has an account"),
            ));
        }
        None => {
            let u = User {
                id: secret::generate_id(state.rng.as_ref())?,
                email: email.clone(),
                name,
                // Not a PHC string: no password verifies against it.
                password_hash: "!".to_owned(),
                disabled: false,
                role: Role::User,
                created_at: state.clock.now(),
                email_verified: false,
                signed_up: false,
            };
            state
                .store
                .insert_user(&u)
                .await
                .map_err(|e| email_taken(e, &email))?;
            u
        }
    };
    let link = setup::create_email_link(
        state,
        Purpose::Invitation,
        &user.id,
        &user.email,
        INVITATION_TTL,
    )
    .await?;
    record(
        state,
        actor,
        "admin.user.invited",
        None,
        None,
        json!({"user_id": user.id, "email": user.email, "expires_at": link.expires_at}),
    );
    Ok((user, link))
}

/// The email, trimmed and lowercased, or why it is not one.
fn clean_email(email: &str) -> AdminResult<String> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(AdminError::invalid("email", "is not an email address"));
    }
    Ok(email)
}

/// The name, trimmed (blank: none), or why it is refused.
fn clean_name(name: Option<&str>) -> AdminResult<Option<String>> {
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    if name.is_some_and(|n| n.chars().count() > 200) {
        return Err(AdminError::invalid(
            "name",
            "must be at most 200 characters",
        ));
    }
    Ok(name.map(str::to_owned))
}

/// A store conflict on writing a person: their email is someone else's.
fn email_taken(e: StoreError, email: &str) -> AdminError {
    match e {
        StoreError::Conflict(_) => {
            AdminError::conflict("email", format!("{email} already has an account"))
        }
        e => e.into(),
    }
}

/// Writes `u` back: a person deleted meanwhile is not found, an email
/// someone else has is a conflict.
async fn save(state: &Authority, u: &User) -> AdminResult<()> {
    match state.store.update_user(u).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AdminError::NotFound(format!("no user with id {:?}", u.id))),
        Err(e) => Err(email_taken(e, &u.email)),
    }
}

/// Refuses a change that would leave no enabled administrator: `u` is one
/// and `what` would end that (disable, demote, delete).
async fn keep_an_administrator(state: &Authority, u: &User, what: &str) -> AdminResult<()> {
    if u.role != Role::Admin || u.disabled {
        return Ok(());
    }
    if super::roles::enabled_admins(state.store.as_ref()).await? <= 1 {
        return Err(AdminError::conflict(
            "id",
            format!("this is the last active administrator; add another before you {what} it"),
        ));
    }
    Ok(())
}

/// Refuses `what` on the acting person's own account.
fn not_yourself(actor: &Actor, u: &User, what: &str) -> AdminResult<()> {
    if actor.user_id.as_deref() == Some(u.id.as_str()) {
        return Err(AdminError::conflict(
            "id",
            format!("you cannot {what} your own account; ask another administrator"),
        ));
    }
    Ok(())
}

/// One page of the people matching `filter`, oldest first.
pub async fn list_users(
    state: &Authority,
    filter: UserFilter,
    offset: usize,
    limit: usize,
) -> AdminResult<UserList> {
    let text = filter
        .text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(AdminError::invalid("q", "must be at most 200 characters"));
    }
    let (users, total) = state
        .store
        .list_users_page(&UserQuery {
            text,
            role: filter.role,
            disabled: filter.disabled,
            offset: offset as u64,
            limit: limit as u64,
        })
        .await?;
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let next_offset =
        (offset + users.len() < total && !users.is_empty()).then_some(offset + users.len());
    Ok(UserList {
        items: users.iter().map(UserView::from).collect(),
        total,
        next_offset,
    })
}

/// Changes a person's email (unique) and name.
pub async fn update_user(
    state: &Authority,
    actor: &Actor,
    id: &str,
    edit: UserEdit,
) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    let before = u.clone();
    if let Some(email) = &edit.email {
        u.email = clean_email(email)?;
    }
    if let Some(name) = &edit.name {
        u.name = clean_name(Some(name))?;
    }
    if u == before {
        return Ok(u);
    }
    save(state, &u).await?;
    record(
        state,
        actor,
        "admin.user.updated",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "previous_email": before.email,
               "name_changed": u.name != before.name}),
    );
    Ok(u)
}

/// Gives a person another role; the last enabled administrator keeps theirs.
pub async fn set_user_role(
    state: &Authority,
    actor: &Actor,
    id: &str,
    role: Role,
) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    if u.role == role {
        return Ok(u);
    }
    keep_an_administrator(state, &u, "demote").await?;
    let previous = u.role;
    u.role = role;
    save(state, &u).await?;
    record(
        state,
        actor,
        "admin.user.role_changed",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "role": role.as_str(),
               "previous_role": previous.as_str()}),
    );
    Ok(u)
}

/// Disables (or enables) a person. Disabling refuses their next sign-in
/// and ends, at once, every session and grant (refresh tokens) they have:
/// a disabled account keeps nothing open.
pub async fn set_user_disabled(
    state: &Authority,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    if disabled {
        not_yourself(actor, &u, "disable")?;
        keep_an_administrator(state, &u, "disable").await?;
    }
    u.disabled = disabled;
    save(state, &u).await?;
    // After the flag is stored: no session can open after this ends them.
    let (sessions, grants) = if disabled {
        end_sessions_and_grants(state, &u.id).await?
    } else {
        (0, 0)
    };
    let event = if disabled {
        "admin.user.disabled"
    } else {
        "admin.user.enabled"
    };
    record(
        state,
        actor,
        event,
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "sessions_ended": sessions,
               "grants_revoked": grants}),
    );
    Ok(u)
}

/// Deletes a person with their sessions, consents and grants. Not the
/// last enabled administrator, not the acting person.
pub async fn delete_user(state: &Authority, actor: &Actor, id: &str) -> AdminResult<UserDeleted> {
    let u = get_user(state, id).await?;
    not_yourself(actor, &u, "delete")?;
    keep_an_administrator(state, &u, "delete").await?;
    let store = state.store.as_ref();
    let grants_removed = store.list_grants_for_user(&u.id).await?.len() as u64;
    let consents_removed = store.list_consents_for_user(&u.id).await?.len() as u64;
    if !store.delete_user(&u.id).await? {
        return Err(AdminError::NotFound(format!("no user with id {id:?}")));
    }
    record(
        state,
        actor,
        "admin.user.deleted",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "grants_removed": grants_removed,
               "consents_removed": consents_removed}),
    );
    Ok(UserDeleted {
        user_id: u.id,
        email: u.email,
        grants_removed,
        consents_removed,
    })
}

/// Signs a person out everywhere: every browser session ends and every
/// grant is revoked with its refresh tokens. An administrator does it to
/// anyone; a person to themselves (the account page).
pub async fn sign_out_everywhere(
    state: &Authority,
    actor: &Actor,
    id: &str,
) -> AdminResult<SignedOut> {
    let u = get_user(state, id).await?;
    let (sessions_ended, grants_revoked) = end_sessions_and_grants(state, &u.id).await?;
    let event = if actor.user_id.as_deref() == Some(u.id.as_str()) {
        "user.signed_out_everywhere"
    } else {
        "admin.user.signed_out_everywhere"
    };
    record(
        state,
        actor,
        event,
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "sessions_ended": sessions_ended,
               "grants_revoked": grants_revoked}),
    );
    Ok(SignedOut {
        user_id: u.id,
        sessions_ended,
        grants_revoked,
    })
}

pub async fn password_link(state: &Authority, actor: &Actor, id: &str) -> AdminResult<OneTimeLink> {
    let u = get_user(state, id).await?;
    let link = setup::create_link(
        state,
        Purpose::PasswordReset,
        Some(&u.id),
        PASSWORD_LINK_TTL,
    )
    .await?;
    // An administrator resets a password when it may be known to someone
    // else: what was opened with it ends now, not when the link is used.
    let (sessions, grants) = end_sessions_and_grants(state, &u.id).await?;
    record(
        state,
        actor,
        "admin.user.password_link_created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "expires_at": link.expires_at,
               "sessions_ended": sessions, "grants_revoked": grants}),
    );
    Ok(link)
}

/// What a password change or reset, disabling a person and "sign out
/// everywhere" end: every session signed in as the person and every grant
/// they gave, with its refresh tokens — whoever knew or guessed the old
/// password keeps nothing it opened. Access tokens already issued fail
/// introspection at once and live out their short lifetime. Returns
/// (sessions, grants) ended. Called after the change is stored, so no
/// session opened before it can appear after it.
pub async fn end_sessions_and_grants(
    state: &Authority,
    user_id: &str,
) -> Result<(u64, u64), StoreError> {
    let grants = state
        .store
        .revoke_grants_for_user(user_id, state.clock.now())
        .await?;
    let sessions = state.store.delete_sessions_for_user(user_id).await?;
    Ok((sessions, grants))
}

/// The apps a person allowed: consents and live grants by (client, resource).
pub async fn user_apps(state: &Authority, user_id: &str) -> AdminResult<Vec<AppView>> {
    get_user(state, user_id).await?;
    let store = state.store.as_ref();
    let consents = store.list_consents_for_user(user_id).await?;
    let grants = store.list_grants_for_user(user_id).await?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for (c, r) in consents
        .iter()
        .map(|c| (&c.client_id, &c.resource_id))
        .chain(grants.iter().map(|g| (&g.client_id, &g.resource_id)))
    {
        if !keys.iter().any(|(a, b)| a == c && b == r) {
            keys.push((c.clone(), r.clone()));
        }
    }
    let mut out = Vec::new();
    for (client_id, resource_id) in keys {
        let client_name = match crate::clients::resolve(state, &client_id).await {
            Ok(Some(c)) => c.display_name().to_owned(),
            _ => client_id.clone(),
        };
        let resource_name = match state.registry.resource_by_id(store, &resource_id).await? {
            Some(r) => r.name.clone(),
            None => resource_id.clone(),
        };
        let consent = consents
            .iter()
            .find(|c| c.client_id == client_id && c.resource_id == resource_id);
        out.push(AppView {
            client_name,
            resource_name,
            consented_scopes: consent.map(|c| c.scopes.clone()),
            consented_at: consent.map(|c| c.created_at),
            grants: grants
                .iter()
                .filter(|g| g.client_id == client_id && g.resource_id == resource_id)
                .map(|g| GrantView {
                    id: g.id.clone(),
                    scopes: g.scopes.clone(),
                    created_at: g.created_at,
                    last_used_at: g.last_used_at,
                    expires_at: g.expires_at,
                })
                .collect(),
            client_id,
            resource_id,
        });
    }
    Ok(out)
}

pub async fn revoke_app(
    state: &Authority,
    actor: &Actor,
    user_id: &str,
    input: RevokeInput,
) -> AdminResult<Revoked> {
    let u = get_user(state, user_id).await?;
    let client_id = input.client_id.trim();
    let resource_id = input.resource_id.trim();
    if client_id.is_empty() {
        return Err(AdminError::invalid("client_id", "is required"));
    }
    if resource_id.is_empty() {
        return Err(AdminError::invalid("resource_id", "is required"));
    }
    let store = state.store.as_ref();
    let now = state.clock.now();
    let consent_removed = store.delete_consent(&u.id, client_id, resource_id).await?;
    let grants_revoked = store
        .revoke_grants_for(&u.id, client_id, resource_id, now)
        .await?;
    record(
        state,
        actor,
        "consent.revoked",
        Some(client_id),
        Some(resource_id),
        json!({"user_id": u.id, "by": "administrator", "grants_revoked": grants_revoked}),
    );
    Ok(Revoked {
        consent_removed,
        grants_revoked,
    })
}

/// Removes every second factor of a person who lost them (authenticator
/// app, recovery codes, passkeys) and ends their sessions, so the next
/// sign-in is with the password and, where MFA is required, a new
/// enrolment. Audited `mfa.reset`.
pub async fn reset_mfa(
    state: &Authority,
    actor: &Actor,
    id: &str,
) -> AdminResult<crate::mfa::MfaReset> {
    let u = get_user(state, id).await?;
    let done = crate::mfa::reset(state, &u.id).await?;
    let sessions_ended = state.store.delete_sessions_for_user(&u.id).await?;
    record(
        state,
        actor,
        "mfa.reset",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "totp_removed": done.totp_removed,
               "recovery_codes_removed": done.recovery_codes_removed,
               "passkeys_removed": done.passkeys_removed, "sessions_ended": sessions_ended}),
    );
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.d"));
        assert!(!valid_email("@c.d"));
    }
}

/// An operator marks a person's email address verified (they know it is
/// theirs another way), or asks for it to be checked by mail.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct VerifyEmailInput {
    /// `true`: mail the person a verification link (needs `[smtp]`);
    /// `false`: mark the address verified now.
    #[serde(default)]
    pub send: bool,
}

/// Marks `id`'s address verified; audited as `admin.user.email_verified`.
pub async fn mark_email_verified(state: &Authority, actor: &Actor, id: &str) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    if !u.email_verified {
        u.email_verified = true;
        state.store.update_user(&u).await?;
    }
    record(
        state,
        actor,
        "admin.user.email_verified",
        None,
        None,
        json!({"user_id": u.id, "email": u.email}),
    );
    Ok(u)
}

/// Audits that an operator had a verification link mailed to `u`.
pub fn record_verification_sent(state: &Authority, actor: &Actor, u: &User) {
    record(
        state,
        actor,
        "admin.user.email_verification_sent",
        None,
        None,
        json!({"user_id": u.id, "email": u.email}),
    );
}
