//! `authgate user add|list|disable|enable`.

use super::{CliError, now, open_store, output};
use authgate_authority::config::Settings;
use authgate_authority::passwords;
use authgate_core::model::User;
use authgate_core::random::OsRandom;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a person. The password is read from standard input (one line),
    /// or prompted for on a terminal.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Make the person an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List people.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a person: they can no longer sign in or refresh tokens.
    Disable { email: String },
    /// Enable a disabled person.
    Enable { email: String },
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
    passwords::check_password_policy(&pw).map_err(|e| CliError(e.to_string()))?;
    Ok(pw)
}

pub async fn run(cmd: UserCmd, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    match cmd {
        UserCmd::Add { email, name, admin } => {
            let email = email.trim().to_lowercase();
            if !valid_email(&email) {
                return Err(CliError(format!(
                    "--email {email:?} is not an email address"
                )));
            }
            let pw = read_password()?;
            let rng = OsRandom::new();
            let u = User {
                id: authgate_core::secret::generate_id(&rng)?,
                email: email.clone(),
                name,
                password_hash: passwords::hash_password(&pw, &rng)?,
                disabled: false,
                is_admin: admin,
                created_at: now(),
            };
            store.insert_user(&u).await?;
            println!("user {email} added (id {})", u.id);
        }
        UserCmd::List { json } => {
            let list = store.list_users().await?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|u| {
                        serde_json::json!({"id": u.id, "email": u.email, "name": u.name,
                        "disabled": u.disabled, "is_admin": u.is_admin, "created_at": u.created_at})
                    })
                    .collect();
                println!("{}", output::json(&serde_json::Value::Array(v)));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|u| {
                        vec![
                            u.email.clone(),
                            u.name.clone().unwrap_or_default(),
                            if u.is_admin {
                                "admin".into()
                            } else {
                                "".into()
                            },
                            if u.disabled {
                                "disabled".into()
                            } else {
                                "active".into()
                            },
                            output::time(Some(u.created_at)),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["EMAIL", "NAME", "ROLE", "STATUS", "CREATED"], &rows)
                );
            }
        }
        UserCmd::Disable { email } => set_disabled(store.as_ref(), &email, true).await?,
        UserCmd::Enable { email } => set_disabled(store.as_ref(), &email, false).await?,
    }
    Ok(())
}

async fn set_disabled(
    store: &dyn authgate_store::Store,
    email: &str,
    disabled: bool,
) -> Result<(), CliError> {
    let mut u = store
        .get_user_by_email(&email.trim().to_lowercase())
        .await?
        .ok_or_else(|| CliError(format!("no user {email:?}")))?;
    u.disabled = disabled;
    store.update_user(&u).await?;
    println!(
        "user {} {}",
        u.email,
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}
