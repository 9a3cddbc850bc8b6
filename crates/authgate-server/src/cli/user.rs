//! `authgate user add|invite|list|edit|set-role|disable|enable|delete|sign-out|mfa-reset`.

use super::error::CliError;
use super::local::{Local, actor, admin_err};
use super::output;
use crate::format;
use authgate_authority::Authority;
use authgate_authority::config::Settings;
use authgate_authority::manage;
use authgate_authority::manage::types::{UserEdit, UserFilter, UserInput, UserView};
use authgate_authority::passwords;
use authgate_core::model::Role;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a person. The password is read from standard input (one line),
    /// or prompted for on a terminal.
    Add {
        /// The person's email address (their sign-in name).
        #[arg(long)]
        email: String,
        /// The name shown for them.
        #[arg(long)]
        name: Option<String>,
        /// user, auditor (reads the dashboard and the admin API, changes
        /// nothing) or admin.
        #[arg(long, value_parser = role_arg, default_value = "user", conflicts_with = "admin")]
        role: Role,
        /// Make the person an administrator (same as --role admin).
        #[arg(long)]
        admin: bool,
        /// The address is known to be theirs: mark it verified (otherwise
        /// it is unverified until they open a verification link).
        #[arg(long)]
        verified: bool,
    },
    /// Verify a person's email address: `--send` mails them a
    /// verification link (sent by the running server's outbox; needs
    /// `[smtp]`); without it, marks the address verified on your word.
    VerifyEmail {
        /// The person's email address.
        email: String,
        /// Mail a verification link instead of marking it verified.
        #[arg(long)]
        send: bool,
    },
    /// Invite a person by mail: an account without a password, and a
    /// single-use link (7 days) where they choose one; using it verifies
    /// their address. Sent by the running server's outbox; needs `[smtp]`.
    /// Delete the person to revoke the invitation.
    Invite {
        /// The person's email address.
        email: String,
        /// The name shown for them.
        #[arg(long)]
        name: Option<String>,
    },
    /// List people.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Only people whose email or name contains this.
        #[arg(long)]
        search: Option<String>,
        /// Only people with this role.
        #[arg(long, value_parser = role_arg)]
        role: Option<Role>,
        /// Only disabled people.
        #[arg(long, conflicts_with = "active")]
        disabled: bool,
        /// Only active people.
        #[arg(long)]
        active: bool,
    },
    /// Change a person's email or name.
    Edit {
        /// The person's email address.
        email: String,
        /// The new email (must not be another person's).
        #[arg(long)]
        new_email: Option<String>,
        /// The new name (empty removes it).
        #[arg(long)]
        name: Option<String>,
    },
    /// Give a person a role: user, auditor or admin.
    SetRole {
        /// The person's email address.
        email: String,
        /// The role: user, auditor or admin.
        #[arg(value_parser = role_arg)]
        role: Role,
    },
    /// Disable a person: they can no longer sign in or refresh tokens; their
    /// sessions and grants end now.
    Disable {
        /// The person's email address.
        email: String,
    },
    /// Enable a disabled person.
    Enable {
        /// The person's email address.
        email: String,
    },
    /// Delete a person with their sessions, consents and grants.
    Delete {
        /// The person's email address.
        email: String,
    },
    /// Sign a person out everywhere: sessions end, grants are revoked.
    SignOut {
        /// The person's email address.
        email: String,
    },
    /// Reset a person's two-step verification (they lost their phone or
    /// key): their authenticator app, recovery codes and passkeys are
    /// removed and their sessions end.
    MfaReset {
        /// The person's email address.
        email: String,
    },
}

/// A role named on the command line.
fn role_arg(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not user, auditor or admin"))
}

/// What `user list` filters on.
pub(super) fn list_filter(
    search: Option<String>,
    role: Option<Role>,
    disabled: bool,
    active: bool,
) -> UserFilter {
    UserFilter {
        text: search,
        role,
        disabled: (disabled || active).then_some(disabled),
    }
}

pub fn valid_email(e: &str) -> bool {
    let e = e.trim();
    e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
}

pub(super) fn read_password() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError(format!("cannot read the password: {e}")))?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(CliError(
            "the password read from standard input is empty; type it at the prompt or pipe \
             it in, e.g. `echo 'a long password' | authgate user add --email …`"
                .into(),
        ));
    }
    passwords::check_password_policy(&pw).map_err(|e| CliError(e.to_string()))?;
    Ok(pw)
}

pub async fn run(cmd: UserCmd, settings: &Settings) -> Result<(), CliError> {
    match cmd {
        UserCmd::Add {
            email,
            name,
            role,
            admin,
            verified,
        } => {
            let email = email.trim().to_lowercase();
            if !valid_email(&email) {
                return Err(CliError(format!(
                    "--email {email:?} is not an email address"
                )));
            }
            let input = UserInput {
                email,
                name,
                role: if admin { Role::Admin } else { role },
                password: Some(read_password()?),
                email_verified: verified,
            };
            let (u, _) = Local::run(settings, async |s| {
                manage::create_user(s, &actor(), input)
                    .await
                    .map_err(admin_err)
            })
            .await?;
            println!("user {} added (id {})", u.email, u.id);
        }
        UserCmd::VerifyEmail { email, send } => verify_email(settings, &email, send).await?,
        UserCmd::Invite { email, name } => {
            if settings.smtp.is_none() {
                return Err(CliError(
                    "invitations go by mail: configure [smtp] first (or `authgate user add`)"
                        .into(),
                ));
            }
            let input = authgate_authority::manage::types::InvitationInput { email, name };
            let sent = Local::run(settings, async |s| {
                crate::mail::invite(s, &actor(), input)
                    .await
                    .map_err(admin_err)
            })
            .await?;
            println!(
                "invitation for {} queued (the running server sends it); the link works until {}",
                sent.user.email,
                format::time(Some(sent.expires_at))
            );
        }
        UserCmd::List {
            json,
            search,
            role,
            disabled,
            active,
        } => {
            let filter = list_filter(search, role, disabled, active);
            let list = Local::run(settings, async |s| {
                manage::list_users(s, filter, 0, usize::MAX)
                    .await
                    .map_err(admin_err)
            })
            .await?;
            print_list(&list.items, json);
        }
        UserCmd::Edit {
            email,
            new_email,
            name,
        } => {
            let edit = UserEdit {
                email: new_email,
                name,
            };
            let u = on_person(settings, &email, async |s, id| {
                manage::update_user(s, &actor(), id, edit).await
            })
            .await?;
            println!("user {} updated", u.email);
        }
        UserCmd::SetRole { email, role } => {
            let u = on_person(settings, &email, async |s, id| {
                manage::set_user_role(s, &actor(), id, role).await
            })
            .await?;
            println!("user {} is now {}", u.email, u.role.as_str());
        }
        UserCmd::Disable { email } => {
            let u = on_person(settings, &email, async |s, id| {
                manage::set_user_disabled(s, &actor(), id, true).await
            })
            .await?;
            println!("user {} disabled", u.email);
        }
        UserCmd::Enable { email } => {
            let u = on_person(settings, &email, async |s, id| {
                manage::set_user_disabled(s, &actor(), id, false).await
            })
            .await?;
            println!("user {} enabled", u.email);
        }
        UserCmd::Delete { email } => {
            let d = on_person(settings, &email, async |s, id| {
                manage::delete_user(s, &actor(), id).await
            })
            .await?;
            println!(
                "user {} deleted ({} grants, {} consents removed)",
                d.email, d.grants_removed, d.consents_removed
            );
        }
        UserCmd::SignOut { email } => {
            let o = on_person(settings, &email, async |s, id| {
                manage::sign_out_everywhere(s, &actor(), id).await
            })
            .await?;
            println!(
                "user {} signed out everywhere ({} sessions ended, {} grants revoked)",
                email.trim().to_lowercase(),
                o.sessions_ended,
                o.grants_revoked
            );
        }
        UserCmd::MfaReset { email } => {
            let r = on_person(settings, &email, async |s, id| {
                manage::reset_mfa(s, &actor(), id).await
            })
            .await?;
            print_mfa_reset(&email, &r);
        }
    }
    Ok(())
}

/// What `user mfa-reset` says it removed.
pub fn print_mfa_reset(email: &str, r: &authgate_authority::mfa::MfaReset) {
    println!(
        "user {}: two-step verification reset (authenticator app {}, {} recovery codes, {} passkeys removed; sessions ended)",
        email.trim().to_lowercase(),
        if r.totp_removed { "removed" } else { "none" },
        r.recovery_codes_removed,
        r.passkeys_removed
    );
}

/// Runs `op` on the person with `email`.
async fn on_person<T>(
    settings: &Settings,
    email: &str,
    op: impl AsyncFnOnce(&Authority, &str) -> Result<T, manage::AdminError>,
) -> Result<T, CliError> {
    let email = email.trim().to_lowercase();
    Local::run(settings, async |s| {
        let u = s
            .store
            .get_user_by_email(&email)
            .await?
            .ok_or_else(|| CliError(format!("no user {email:?}")))?;
        op(s.as_ref(), &u.id).await.map_err(admin_err)
    })
    .await
}

/// Prints people as JSON or a table (the API's view of each).
pub(super) fn print_list(list: &[UserView], json: bool) {
    if json {
        println!("{}", output::json(&serde_json::json!(list)));
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|u| {
            vec![
                u.email.clone(),
                u.name.clone().unwrap_or_default(),
                u.role.as_str().into(),
                if u.disabled { "disabled" } else { "active" }.into(),
                format::time(Some(u.created_at)),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["EMAIL", "NAME", "ROLE", "STATUS", "CREATED"], &rows)
    );
}

/// `user verify-email`: mails a verification link (`--send`), or marks
/// the address verified; audited either way (the admin API's
/// `POST /users/{id}/verify-email` does the same).
async fn verify_email(settings: &Settings, email: &str, send: bool) -> Result<(), CliError> {
    let email = email.trim().to_lowercase();
    // `operator_verify_email` refuses `--send` without [smtp], naming it.
    let done = Local::run(settings, async |s| {
        let u = s
            .store
            .get_user_by_email(&email)
            .await?
            .ok_or_else(|| CliError(format!("no user {email:?}")))?;
        let input = authgate_authority::manage::VerifyEmailInput { send };
        crate::mail::operator_verify_email(s, &actor(), &u.id, input)
            .await
            .map_err(admin_err)?;
        Ok(verify_email_done(&u.email, send))
    })
    .await?;
    println!("{done}");
    Ok(())
}

/// What `user verify-email` says it did (here and over `--server`).
pub fn verify_email_done(email: &str, send: bool) -> String {
    if send {
        format!("verification link for {email} queued (the running server sends it)")
    } else {
        format!("{email} is verified")
    }
}
