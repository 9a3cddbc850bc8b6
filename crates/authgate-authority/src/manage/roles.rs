//! What each role may do: the one place that decides it. The dashboard and
//! the admin API ask here before they let a person read or change
//! anything; `manage::*` asks here before a change that touches roles.

use super::error::{AdminError, AdminResult};
use authgate_core::model::{Role, User};
use authgate_store::{Store, StoreResult, UserQuery};

/// What a request wants to do with the administration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// See the dashboard's pages, the admin API's GETs, the audit log.
    Read,
    /// Change anything (a form posted, an API POST, PUT or DELETE).
    Write,
}

/// Whether `role` may `access` the administration.
pub fn may(role: Role, access: Access) -> bool {
    match (role, access) {
        (Role::Admin, _) => true,
        (Role::Auditor, Access::Read) => true,
        (Role::Auditor, Access::Write) | (Role::User, _) => false,
    }
}

/// Whether `role` may see the administration at all (the dashboard, a link
/// to it from the account page, `/` leading there).
pub fn sees_dashboard(role: Role) -> bool {
    may(role, Access::Read)
}

/// `Ok` when an enabled person `u` may `access` the administration; else
/// [`AdminError::Forbidden`] saying why.
pub fn check(u: &User, access: Access) -> AdminResult<()> {
    if u.disabled {
        return Err(AdminError::Forbidden("this account is disabled".into()));
    }
    if may(u.role, access) {
        return Ok(());
    }
    Err(AdminError::Forbidden(match (u.role, access) {
        (Role::Auditor, _) => {
            "auditors have read-only access: ask an administrator to make this change".into()
        }
        _ => "this account is not an administrator or auditor of this server".into(),
    }))
}

/// How many enabled administrators there are (the last one is kept:
/// never disabled, demoted or deleted).
pub async fn enabled_admins(store: &dyn Store) -> StoreResult<u64> {
    let (_, n) = store
        .list_users_page(&UserQuery {
            role: Some(Role::Admin),
            disabled: Some(false),
            limit: 0,
            ..Default::default()
        })
        .await?;
    Ok(n)
}

/// How `role` is shown to people.
pub fn label(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Auditor => "auditor (read-only)",
        Role::Admin => "administrator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, disabled: bool) -> User {
        User {
            id: "u".into(),
            email: "u@example.com".into(),
            name: None,
            password_hash: "!".into(),
            disabled,
            role,
            created_at: 0,
            email_verified: false,
            signed_up: false,
        }
    }

    #[test]
    fn admins_do_everything_auditors_only_read_users_nothing() {
        assert!(may(Role::Admin, Access::Read) && may(Role::Admin, Access::Write));
        assert!(may(Role::Auditor, Access::Read));
        assert!(!may(Role::Auditor, Access::Write));
        assert!(!may(Role::User, Access::Read) && !may(Role::User, Access::Write));
        assert!(sees_dashboard(Role::Auditor) && !sees_dashboard(Role::User));
    }

    #[test]
    fn refusals_say_why() {
        assert!(check(&person(Role::Admin, false), Access::Write).is_ok());
        assert!(check(&person(Role::Auditor, false), Access::Read).is_ok());
        let e = check(&person(Role::Auditor, false), Access::Write).unwrap_err();
        assert!(e.message().contains("read-only"), "{}", e.message());
        let e = check(&person(Role::User, false), Access::Read).unwrap_err();
        assert!(
            e.message().contains("not an administrator"),
            "{}",
            e.message()
        );
        // A disabled administrator is refused even a read.
        let e = check(&person(Role::Admin, true), Access::Read).unwrap_err();
        assert!(e.message().contains("disabled"), "{}", e.message());
    }
}
