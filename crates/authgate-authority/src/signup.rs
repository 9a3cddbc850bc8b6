//! Self sign-up (issue 21): `[signup]`, which authorization requests offer
//! it, the checks a new account passes, and the rule that an account a
//! person made themselves is granted nothing before its email is verified.
//!
//! Off by default. An MCP server can open or close it for its own
//! requests (`Resource::signup`); every way in needs `[smtp]`, since the
//! account is unverified until the person opens the mailed link.

use crate::Authority;
use crate::config::Settings;
use crate::config_error::ConfigError;
use authgate_core::model::{AccountStanding, Resource, SignupPolicy, User};
use authgate_core::secret;
use authgate_store::StoreError;
use serde::{Deserialize, Serialize};

/// `[signup]` in the configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SignupConfig {
    /// People may create an account from the sign-in page (MCP servers
    /// can override it with their `signup` rule).
    pub enabled: bool,
    /// Only addresses at these domains may sign up (exact match, no
    /// subdomains); empty: any domain.
    pub allowed_email_domains: Vec<String>,
}

/// Checks `[signup]` against the rest: sign-up needs mail.
pub fn validate_config(raw: &crate::config::Config) -> Result<(), ConfigError> {
    let c = &raw.signup;
    let mail = raw.smtp.is_some();
    if c.enabled && !mail {
        return Err(ConfigError::new(
            "signup.enabled",
            "needs [smtp]: a new account must verify its email address by mail",
        ));
    }
    for (i, r) in raw.resources.iter().enumerate() {
        if r.signup == SignupPolicy::Open && !mail {
            return Err(ConfigError::new(
                format!("resources[{i}].signup"),
                "\"open\" needs [smtp]: a new account must verify its email address by mail",
            ));
        }
    }
    for (i, d) in c.allowed_email_domains.iter().enumerate() {
        if !valid_domain(d) {
            return Err(ConfigError::new(
                format!("signup.allowed_email_domains[{i}]"),
                format!("{d:?} is not a lowercase domain name like example.com"),
            ));
        }
    }
    Ok(())
}

fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Whether a request for `resource` (none: no pending request) may offer
/// sign-up. Without `[smtp]` never, whatever the rules say (fail closed:
/// an account nobody can verify would be a dead end).
pub fn allowed_for(settings: &Settings, resource: Option<&Resource>) -> bool {
    settings.smtp.is_some()
        && admits_signed_up(settings, resource.map(|r| r.signup).unwrap_or_default())
}

/// Whether `email`'s domain may sign up (`allowed_email_domains`).
pub fn domain_allowed(settings: &Settings, email: &str) -> bool {
    let allowed = &settings.raw.signup.allowed_email_domains;
    allowed.is_empty()
        || email
            .rsplit_once('@')
            .is_some_and(|(_, d)| allowed.iter().any(|a| a == &d.to_ascii_lowercase()))
}

/// The gate before any grant: an account the person created themselves
/// gets no consent and no code until its address is verified. Accounts
/// an operator made (CLI, admin API, dashboard), invited people (their
/// link proved the address) and upstream sign-ins are not held here.
pub fn needs_verification(u: &User) -> bool {
    unverified(u.standing())
}

fn unverified(s: AccountStanding) -> bool {
    s.signed_up && !s.email_verified
}

/// Why a person is granted nothing (no consent, no code) for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// They created the account themselves and have not opened the
    /// verification link yet.
    Unverified,
    /// They created the account themselves, and this MCP server does not
    /// take such accounts: its rule is `closed`, or `inherit` while the
    /// instance's `[signup] enabled` is off (an account made through one
    /// `open` server is not a way into the others).
    ClosedToSignedUp,
    /// The account is gone or disabled.
    NoAccount,
}

/// Whether an MCP server with sign-up `rule` takes accounts people made
/// themselves: its own rule, or the instance's for `inherit`. (Unlike [`allowed_for`], not
/// tied to `[smtp]`: taking mail away does not lock verified people out.)
fn admits_signed_up(settings: &Settings, rule: SignupPolicy) -> bool {
    match rule {
        SignupPolicy::Open => true,
        SignupPolicy::Closed => false,
        SignupPolicy::Inherit => settings.raw.signup.enabled,
    }
}

/// The hold on a person (`User::standing`) for `resource`, if any:
/// [`needs_verification`], and a server that does not take self-made
/// accounts refuses them. Checked before every code and again on every
/// refresh, so closing a server stops the tokens already out there too.
pub fn hold(settings: &Settings, user: AccountStanding, resource: &Resource) -> Option<Hold> {
    if user.disabled {
        Some(Hold::NoAccount)
    } else if unverified(user) {
        Some(Hold::Unverified)
    } else if user.signed_up && !admits_signed_up(settings, resource.signup) {
        Some(Hold::ClosedToSignedUp)
    } else {
        None
    }
}

/// [`hold`] by ids, failing closed: an unknown person or MCP server is
/// held too.
pub async fn hold_for(
    state: &Authority,
    user_id: &str,
    resource_id: &str,
) -> Result<Option<Hold>, StoreError> {
    let Some(user) = state.store.get_user(user_id).await? else {
        return Ok(Some(Hold::NoAccount));
    };
    let Some(resource) = state
        .registry
        .resource_by_id(state.store.as_ref(), resource_id)
        .await?
    else {
        return Ok(Some(Hold::NoAccount));
    };
    Ok(hold(&state.settings, user.standing(), &resource))
}

/// What is wrong with a sign-up form, for the person to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not an address mail can go to (or a CR/LF in it).
    Email,
    /// A control character (CR/LF) in the name, or too long.
    Name,
    /// The address's domain may not sign up here.
    Domain,
    /// The organization of the address's domain forbids local passwords.
    OrganizationForbidsPasswords,
    /// The password policy's reason.
    Password(&'static str),
}

/// The email, trimmed and lowercased, when mail can be addressed to it:
/// the house rule (`valid_email`) and lettre's typed address parser, so
/// nothing reaches a header that lettre would not write as one address.
pub fn clean_email(raw: &str) -> Result<String, Problem> {
    let email = raw.trim().to_lowercase();
    if !crate::manage::valid_email(&email) || email.parse::<lettre::Address>().is_err() {
        return Err(Problem::Email);
    }
    Ok(email)
}

/// The name, trimmed (blank: none); no control characters (a CR or LF
/// would be a header injection attempt in the mail's `To`), at most 200
/// characters. lettre encodes the rest as a header value.
pub fn clean_name(raw: &str) -> Result<Option<String>, Problem> {
    if raw.chars().any(char::is_control) {
        return Err(Problem::Name);
    }
    let name = raw.trim();
    if name.chars().count() > 200 {
        return Err(Problem::Name);
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// Every check of a sign-up form that does not depend on whether the
/// address has an account (so answering with it tells nothing).
pub async fn check(
    state: &Authority,
    email: &str,
    name: &str,
    password: &str,
) -> Result<Result<(String, Option<String>), Problem>, StoreError> {
    let email = match clean_email(email) {
        Ok(e) => e,
        Err(p) => return Ok(Err(p)),
    };
    let name = match clean_name(name) {
        Ok(n) => n,
        Err(p) => return Ok(Err(p)),
    };
    if !domain_allowed(&state.settings, &email) {
        return Ok(Err(Problem::Domain));
    }
    if !crate::orgs::local_password_allowed(state, &email).await? {
        return Ok(Err(Problem::OrganizationForbidsPasswords));
    }
    if let Err(e) = crate::passwords::check_password_policy(password) {
        return Ok(Err(Problem::Password(e)));
    }
    Ok(Ok((email, name)))
}

/// What [`create_account`] did.
pub enum Created {
    /// A new, unverified account.
    New(User),
    /// The address already has an account (untouched).
    Exists(User),
}

/// Creates the unverified account (`signed_up`), or finds the one the
/// address already has (a race with another sign-up ends here too). The
/// caller has run [`check`].
pub async fn create_account(
    state: &Authority,
    email: &str,
    name: Option<String>,
    password: String,
) -> Result<Created, StoreError> {
    if let Some(u) = state.store.get_user_by_email(email).await? {
        // Hash anyway: the time taken tells nothing either.
        let _ = state.passwords.hash(password, state.rng.clone()).await;
        return Ok(Created::Exists(u));
    }
    let password_hash = state.passwords.hash(password, state.rng.clone()).await;
    if password_hash.is_empty() {
        return Err(StoreError::Backend("password hashing failed".into()));
    }
    let user = User {
        id: secret::generate_id(state.rng.as_ref())?,
        email: email.to_owned(),
        name,
        password_hash,
        disabled: false,
        role: authgate_core::model::Role::User,
        created_at: state.clock.now(),
        email_verified: false,
        signed_up: true,
    };
    match state.store.insert_user(&user).await {
        Ok(()) => Ok(Created::New(user)),
        Err(StoreError::Conflict(_)) => match state.store.get_user_by_email(email).await? {
            Some(u) => Ok(Created::Exists(u)),
            None => Err(StoreError::Conflict("user email".into())),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_and_bad_addresses_are_refused() {
        assert_eq!(
            clean_email(" Ann@Example.com "),
            Ok("ann@example.com".into())
        );
        for bad in [
            "ann@example.com\r\nBcc: eve@evil.example",
            "ann@example.com\nX: y",
            "ann",
            "ann@@example.com",
            "<ann@example.com>",
            "ann@example.com, eve@evil.example",
        ] {
            assert_eq!(clean_email(bad), Err(Problem::Email), "{bad:?}");
        }
        assert_eq!(clean_name("  Ann Example "), Ok(Some("Ann Example".into())));
        assert_eq!(clean_name(""), Ok(None));
        for bad in ["Ann\r\nBcc: eve@evil.example", "Ann\nX", "A\u{0}"] {
            assert_eq!(clean_name(bad), Err(Problem::Name), "{bad:?}");
        }
        assert_eq!(clean_name(&"x".repeat(201)), Err(Problem::Name));
    }

    #[test]
    fn domains_must_be_lowercase_names() {
        assert!(valid_domain("example.com"));
        assert!(valid_domain("mail.example.co.uk"));
        for bad in [
            "Example.com",
            "example",
            "@example.com",
            "ex ample.com",
            "-x.com",
            "",
        ] {
            assert!(!valid_domain(bad), "{bad:?}");
        }
    }

    #[test]
    fn only_self_made_unverified_accounts_wait() {
        let mut u = User {
            id: "u".into(),
            email: "a@example.com".into(),
            name: None,
            password_hash: "!".into(),
            disabled: false,
            role: authgate_core::model::Role::User,
            created_at: 0,
            email_verified: false,
            signed_up: false,
        };
        assert!(!needs_verification(&u), "an operator's account is not held");
        u.signed_up = true;
        assert!(needs_verification(&u));
        u.email_verified = true;
        assert!(!needs_verification(&u));
    }
}
