//! People: add, disable or enable, password links, and what they allowed.

use super::actor::{Actor, record};
use super::error::{AdminError, AdminResult};
use crate::Authority;
use crate::manage::types::*;
use crate::setup_links::{self as setup, Purpose};
use authgate_core::model::User;
use authgate_core::secret;
use authgate_store::StoreError;
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
    let email = input.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(AdminError::invalid("email", "is not an email address"));
    }
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(AdminError::invalid(
            "name",
            "must be at most 200 characters",
        ));
    }
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
        is_admin: input.is_admin,
        created_at: state.clock.now(),
    };
    match state.store.insert_user(&u).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::conflict(
                "email",
                format!("{email} already has an account"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    record(
        state,
        actor,
        "admin.user.created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "is_admin": u.is_admin}),
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

pub async fn set_user_disabled(
    state: &Authority,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> AdminResult<User> {
    let mut u = get_user(state, id).await?;
    if disabled && u.is_admin && !u.disabled {
        let others = state
            .store
            .list_users()
            .await?
            .iter()
            .filter(|o| o.is_admin && !o.disabled && o.id != u.id)
            .count();
        if others == 0 {
            return Err(AdminError::conflict(
                "id",
                "this is the last active administrator; add another before disabling it",
            ));
        }
    }
    u.disabled = disabled;
    if !state.store.update_user(&u).await? {
        return Err(AdminError::NotFound(format!("no user with id {id:?}")));
    }
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
        json!({"user_id": u.id, "email": u.email}),
    );
    Ok(u)
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
    record(
        state,
        actor,
        "admin.user.password_link_created",
        None,
        None,
        json!({"user_id": u.id, "email": u.email, "expires_at": link.expires_at}),
    );
    Ok(link)
}

/// What a password change (or reset) ends: every session signed in as the
/// person and every grant they gave, with its refresh tokens — whoever knew
/// or guessed the old password keeps nothing it opened. Access tokens
/// already issued live out their short lifetime. Returns (sessions,
/// grants) ended. Called after the new password is stored, so no session
/// opened with the old password can appear after it.
pub async fn end_everything_after_password_change(
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
