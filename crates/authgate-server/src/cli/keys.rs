//! `authgate keys list|rotate`.

use super::error::CliError;
use super::local::{Local, actor, admin_err, open_store};
use super::output;
use crate::format;
use authgate_authority::config::Settings;
use authgate_authority::manage;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List signing keys.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Add a new signing key; the previous one stays published until every
    /// token it signed has expired. Running servers pick it up within
    /// `key_reload_interval_secs`.
    Rotate,
}

pub async fn run(cmd: KeysCmd, settings: &Settings) -> Result<(), CliError> {
    match cmd {
        KeysCmd::List { json } => {
            let keys = open_store(settings).await?.list_signing_keys().await?;
            let state = |k: &authgate_core::model::SigningKeyRecord| {
                if k.retired_at.is_none() {
                    "active"
                } else {
                    "retired"
                }
            };
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| serde_json::json!({"kid": k.kid, "alg": k.alg.as_str(), "state": state(k),
                        "created_at": k.created_at, "retired_at": k.retired_at, "remove_after": k.remove_after}))
                    .collect();
                println!("{}", output::json(&serde_json::Value::Array(v)));
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.kid.clone(),
                            k.alg.as_str().into(),
                            state(k).into(),
                            format::time(Some(k.created_at)),
                            format::time(k.remove_after),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["KID", "ALG", "STATE", "CREATED", "LEAVES JWKS"], &rows)
                );
            }
        }
        KeysCmd::Rotate => {
            let r = Local::run(settings, async |s| {
                manage::rotate_key(s, &actor()).await.map_err(admin_err)
            })
            .await?;
            println!("new signing key {} ({}) is active", r.kid, r.alg);
        }
    }
    Ok(())
}
