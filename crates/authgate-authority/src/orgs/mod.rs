//! Organizations (issue 19): verified email domains route a person to
//! their organization's identity provider (home-realm discovery), an
//! organization may forbid local passwords, group -> scope rules limit what
//! a person can consent to, and deactivating an organization ends its
//! members' sessions and grants.
//!
//! Membership is by domain, not by a membership table: a person is a member
//! of the organization owning the *verified* domain of their email. That
//! makes every answer here depend only on the domain typed, never on
//! whether an account exists (no account enumeration on the sign-in page),
//! and an upstream identity's verified email decides membership without
//! any operator bookkeeping per person.

pub mod dns;
pub mod manage;
pub mod scopes;

use crate::Authority;
use crate::federation::identity::UpstreamIdentity;
use authgate_core::org::{Organization, email_domain};
use authgate_store::StoreError;

pub use scopes::{ScopeDecision, decide_scopes};

/// The organization owning the verified domain `domain` (normalized), if
/// any, disabled or not.
pub async fn org_for_domain(
    auth: &Authority,
    domain: &str,
) -> Result<Option<Organization>, StoreError> {
    let Some(d) = auth.store.get_org_domain(domain).await? else {
        return Ok(None);
    };
    if !d.is_verified() {
        // An unverified claim routes nothing: anyone can type any domain
        // into the dashboard, only DNS (or an operator) proves it.
        return Ok(None);
    }
    auth.store.get_org(&d.org_id).await
}

/// The organization `email` is a member of (by its verified domain).
pub async fn org_for_email(
    auth: &Authority,
    email: &str,
) -> Result<Option<Organization>, StoreError> {
    match email_domain(email) {
        Some(domain) => org_for_domain(auth, &domain).await,
        None => Ok(None),
    }
}

/// Where the email-first sign-in sends a person. Depends only on the
/// email's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRoute {
    /// Ask for the local password.
    Password,
    /// Sign in through one of the organization's connections (one: go
    /// straight there; several: let the person choose). `password_allowed`:
    /// the organization still allows local passwords as an alternative.
    Connections {
        org: Organization,
        connection_ids: Vec<String>,
        password_allowed: bool,
    },
    /// The organization forbids local passwords and has no connection to
    /// offer: tell the person to use their company's sign-in.
    CompanySignInOnly { org: Organization },
    /// The organization is deactivated: nobody signs in as its member.
    OrgDisabled { org: Organization },
}

/// The email-first step's decision for `email`.
pub async fn route_email(auth: &Authority, email: &str) -> Result<SignInRoute, StoreError> {
    let Some(org) = org_for_email(auth, email).await? else {
        return Ok(SignInRoute::Password);
    };
    if org.disabled {
        return Ok(SignInRoute::OrgDisabled { org });
    }
    // Only connections that exist and are enabled are offered: a removed
    // or disabled one would send the person to a dead end.
    let mut connection_ids = Vec::new();
    for id in &org.connection_ids {
        if let Some(c) = auth.store.get_connection(id).await?
            && !c.disabled
        {
            connection_ids.push(id.clone());
        }
    }
    if connection_ids.is_empty() {
        return Ok(if org.forbid_local_passwords {
            SignInRoute::CompanySignInOnly { org }
        } else {
            SignInRoute::Password
        });
    }
    Ok(SignInRoute::Connections {
        connection_ids,
        password_allowed: !org.forbid_local_passwords,
        org,
    })
}

/// Whether a local password may be used for `email`: not for members of an
/// organization that forbids local passwords or is deactivated. The
/// password POST asks this *before* checking the password, and the answer
/// depends only on the domain, so it reveals nothing about the account.
pub async fn local_password_allowed(auth: &Authority, email: &str) -> Result<bool, StoreError> {
    Ok(match org_for_email(auth, email).await? {
        Some(org) => !org.disabled && !org.forbid_local_passwords,
        None => true,
    })
}

/// What an organization says about a sign-in of its member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgGate {
    /// Not a member, or the organization allows this way in.
    Open,
    /// The organization is deactivated: its members sign in nowhere.
    Disabled(Organization),
    /// The organization wants its members through its own identity
    /// providers (it lists connections, or forbids local credentials).
    UseCompanySignIn(Organization),
}

/// Whether the organization `email` belongs to (by verified domain) lets
/// it sign in `via` one of its connections, or with a local credential
/// (`None`: a password or a passkey). Every way in asks this, so that
/// deactivating an organization or forbidding local passwords cannot be
/// walked around through a passkey or another identity provider (a
/// social login that still calls an ex-employee's address verified).
pub async fn gate(auth: &Authority, email: &str, via: Option<&str>) -> Result<OrgGate, StoreError> {
    let Some(org) = org_for_email(auth, email).await? else {
        return Ok(OrgGate::Open);
    };
    if org.disabled {
        return Ok(OrgGate::Disabled(org));
    }
    let open = match via {
        None => !org.forbid_local_passwords,
        Some(c) => {
            org.connection_ids.iter().any(|x| x == c)
                || (org.connection_ids.is_empty() && !org.forbid_local_passwords)
        }
    };
    Ok(if open {
        OrgGate::Open
    } else {
        OrgGate::UseCompanySignIn(org)
    })
}

/// What an upstream sign-in says about organization membership: the
/// federation callback fills `AuthContext.org_id` with it. A person is a
/// member when the upstream *verified* their email and its domain is a
/// verified domain of an enabled organization that lists `connection_id`
/// among its connections (an organization's membership is only vouched for
/// by its own identity providers, never by a social login that happens to
/// report an address at that domain).
pub async fn org_for_sign_in(
    auth: &Authority,
    identity: &UpstreamIdentity,
) -> Result<Option<String>, StoreError> {
    let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
    else {
        return Ok(None);
    };
    Ok(org_for_email(auth, email)
        .await?
        .filter(|o| {
            !o.disabled
                && o.connection_ids
                    .iter()
                    .any(|c| c == &identity.connection_id)
        })
        .map(|o| o.id))
}
