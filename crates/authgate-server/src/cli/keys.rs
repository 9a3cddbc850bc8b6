//! `authgate keys list|rotate`.

use super::{CliError, now, open_store, output};
use authgate_authority::config::Settings;
use authgate_core::model::Resource;
use authgate_core::random::OsRandom;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List signing keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a new signing key; the previous one stays published until every
    /// token it signed has expired. Running servers pick it up within
    /// `key_reload_interval_secs`.
    Rotate,
}

pub async fn run(cmd: KeysCmd, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    match cmd {
        KeysCmd::List { json } => {
            let keys = store.list_signing_keys().await?;
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
                            output::time(Some(k.created_at)),
                            output::time(k.remove_after),
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
            let sealed = store.list_signing_keys().await?.len();
            let kek = authgate_authority::keys::load_kek(settings, sealed)
                .map_err(|e| CliError(e.to_string()))?;
            // Keep a retired key published for the longest token lifetime.
            let longest = store
                .list_resources()
                .await?
                .iter()
                .map(|r| r.access_token_ttl_secs)
                .max()
                .unwrap_or(Resource::DEFAULT_ACCESS_TOKEN_TTL)
                .max(settings.raw.id_token_ttl_secs)
                + 300;
            let kid = authgate_authority::keys::rotate(
                store.as_ref(),
                &kek,
                settings.signing_alg,
                now(),
                longest,
                &OsRandom::new(),
            )
            .await
            .map_err(|e| CliError(e.to_string()))?;
            println!(
                "new signing key {kid} ({}) is active",
                settings.signing_alg.as_str()
            );
        }
    }
    Ok(())
}
