//! `authgate user add|list|disable|enable`.

use super::error::CliError;
use super::local::{Local, actor, admin_err, open_store};
use super::output;
use crate::format;
use authgate_authority::config::Settings;
use authgate_authority::manage;
use authgate_authority::manage::types::UserInput;
use authgate_authority::passwords;
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
        /// Make the person an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List people.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Disable a person: they can no longer sign in or refresh tokens.
    Disable {
        /// The person's email address.
        email: String,
    },
    /// Enable a disabled person.
    Enable {
        /// The person's email address.
        email: String,
    },
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
        UserCmd::Add { email, name, admin } => {
            let email = email.trim().to_lowercase();
            if !valid_email(&email) {
                return Err(CliError(format!(
                    "--email {email:?} is not an email address"
                )));
            }
            let input = UserInput {
                email,
                name,
                is_admin: admin,
                password: Some(read_password()?),
            };
            let (u, _) = Local::run(settings, async |s| {
                manage::create_user(s, &actor(), input)
                    .await
                    .map_err(admin_err)
            })
            .await?;
            println!("user {} added (id {})", u.email, u.id);
        }
        UserCmd::List { json } => list(settings, json).await?,
        UserCmd::Disable { email } => set_disabled(settings, &email, true).await?,
        UserCmd::Enable { email } => set_disabled(settings, &email, false).await?,
    }
    Ok(())
}

async fn list(settings: &Settings, json: bool) -> Result<(), CliError> {
    let list = open_store(settings).await?.list_users().await?;
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|u| {
                serde_json::json!({"id": u.id, "email": u.email, "name": u.name,
                "disabled": u.disabled, "is_admin": u.is_admin, "created_at": u.created_at})
            })
            .collect();
        println!("{}", output::json(&serde_json::Value::Array(v)));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|u| {
            vec![
                u.email.clone(),
                u.name.clone().unwrap_or_default(),
                if u.is_admin { "admin" } else { "" }.into(),
                if u.disabled { "disabled" } else { "active" }.into(),
                format::time(Some(u.created_at)),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["EMAIL", "NAME", "ROLE", "STATUS", "CREATED"], &rows)
    );
    Ok(())
}

async fn set_disabled(settings: &Settings, email: &str, disabled: bool) -> Result<(), CliError> {
    let email = email.trim().to_lowercase();
    let u = Local::run(settings, async |s| {
        let u = s
            .store
            .get_user_by_email(&email)
            .await?
            .ok_or_else(|| CliError(format!("no user {email:?}")))?;
        manage::set_user_disabled(s, &actor(), &u.id, disabled)
            .await
            .map_err(admin_err)
    })
    .await?;
    println!(
        "user {} {}",
        u.email,
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}
