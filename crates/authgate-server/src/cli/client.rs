//! `authgate client add|list|show|remove|block|unblock|block-host|unblock-host`.

use super::error::CliError;
use super::local::{Local, actor, admin_err, open_store};
use super::output;
use crate::format;
use crate::state::AppState;
use authgate_authority::config::Settings;
use authgate_authority::manage::types::ClientInput;
use authgate_authority::manage::{self, Actor, AdminError};
use authgate_core::model::{Client, ClientKind};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// Register a client. Confidential clients get a secret, shown once.
    Add(AddArgs),
    /// List clients.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// The client's id.
        id: String,
    },
    /// Delete a client.
    Remove {
        /// The client's id.
        id: String,
    },
    /// Block a client: it can no longer authenticate or authorize.
    Block {
        /// The client's id.
        id: String,
    },
    /// Unblock a client.
    Unblock {
        /// The client's id.
        id: String,
    },
    /// Refuse every client ID metadata document on a host (e.g.
    /// `evil.example`), including URLs never seen before. Takes effect on
    /// running servers within seconds.
    BlockHost {
        /// The host name, e.g. `evil.example`.
        host: String,
    },
    /// Lift a host block made with `block-host`.
    UnblockHost {
        /// The host name, e.g. `evil.example`.
        host: String,
    },
}

/// `client add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The client id.
    #[arg(long)]
    id: String,
    /// The name shown on consent pages.
    #[arg(long)]
    name: Option<String>,
    /// Give the client a secret (client_secret_basic).
    #[arg(long)]
    confidential: bool,
    /// Resource id the client may get tokens for (repeatable); '*' for
    /// every MCP server but the admin API (`authgate-admin` must be
    /// named). Without any, the client gets no tokens.
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// Scope the client may be granted (repeatable; none = any).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials.
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
}

impl AddArgs {
    /// As the admin operations (and the admin API) take it.
    pub(super) fn input(self) -> ClientInput {
        ClientInput {
            client_id: Some(self.id),
            client_name: self.name,
            confidential: self.confidential,
            redirect_uris: self.redirect_uris,
            grant_types: self.grant_types,
            resources: self.resources,
            scopes: (!self.scopes.is_empty()).then_some(self.scopes),
        }
    }
}

fn describe(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.client_id,
        "kind": c.kind.as_str(),
        "client_name": c.metadata.client_name,
        "source": source(c),
        "token_endpoint_auth_method": c.metadata.token_endpoint_auth_method.as_str(),
        "redirect_uris": c.metadata.redirect_uris,
        "grant_types": c.metadata.grant_types,
        "resources": c.resources,
        "allowed_scopes": c.allowed_scopes,
        "blocked": c.blocked,
        "registration_count": c.registration_count,
        "created_at": c.created_at,
        "last_used_at": c.last_used_at,
    })
}

fn source(c: &Client) -> String {
    if is_host_block(c) {
        return "host block".into();
    }
    match c.kind {
        ClientKind::MetadataDocument => c.client_id.clone(),
        ClientKind::Dynamic => c
            .metadata
            .software_id
            .clone()
            .unwrap_or_else(|| "dynamic registration".into()),
        ClientKind::PreRegistered => "administrator".into(),
    }
}

pub async fn run(cmd: ClientCmd, settings: &Settings) -> Result<(), CliError> {
    match cmd {
        ClientCmd::List { json } => list(settings, json).await,
        ClientCmd::Show { id } => {
            let c = open_store(settings)
                .await?
                .get_client(&id)
                .await?
                .ok_or_else(|| CliError(format!("no client {id:?}")))?;
            println!("{}", output::json(&describe(&c)));
            Ok(())
        }
        cmd => Local::run(settings, async |s| change(s, cmd).await).await,
    }
}

/// The commands that change something, each one admin operation.
async fn change(state: &AppState, cmd: ClientCmd) -> Result<(), CliError> {
    let actor = actor();
    match cmd {
        ClientCmd::Add(a) => {
            let (c, secret) = manage::create_client(state, &actor, a.input())
                .await
                .map_err(admin_err)?;
            print_added(&c, secret.as_deref());
        }
        ClientCmd::Remove { id } => {
            manage::delete_client(state, &actor, &id)
                .await
                .map_err(admin_err)?;
            println!("client {id:?} removed");
        }
        ClientCmd::Block { id } => set_blocked(state, &actor, &id, true).await?,
        ClientCmd::Unblock { id } => set_blocked(state, &actor, &id, false).await?,
        ClientCmd::BlockHost { host } => block_host(state, &actor, &host, true).await?,
        ClientCmd::UnblockHost { host } => block_host(state, &actor, &host, false).await?,
        ClientCmd::List { .. } | ClientCmd::Show { .. } => {}
    }
    Ok(())
}

/// The columns of `client list` (local or remote).
pub(super) const CLIENT_COLUMNS: [&str; 7] = [
    "CLIENT ID",
    "KIND",
    "SOURCE",
    "NAME",
    "CREATED",
    "LAST USED",
    "",
];

fn print_added(c: &Client, secret: Option<&str>) {
    println!("client_id:     {}", c.client_id);
    if let Some(s) = secret {
        println!("client_secret: {s}");
        println!("(the secret is shown only now; authgate keeps only its hash)");
    }
    if c.resources.is_empty() {
        eprintln!(
            "note: no --resource given: this client gets no tokens \
             (re-add it with --resource <id>, or --resource '*' for every MCP server)"
        );
    }
}

async fn list(settings: &Settings, json: bool) -> Result<(), CliError> {
    let list = open_store(settings).await?.list_clients().await?;
    if json {
        println!(
            "{}",
            output::json(&serde_json::Value::Array(
                list.iter().map(describe).collect()
            ))
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.client_id.clone(),
                c.kind.as_str().into(),
                source(c),
                c.display_name().into(),
                format::time(Some(c.created_at)),
                format::time(c.last_used_at),
                if c.blocked { "blocked" } else { "" }.into(),
            ]
        })
        .collect();
    print!("{}", output::table(&CLIENT_COLUMNS, &rows));
    Ok(())
}

async fn set_blocked(
    state: &AppState,
    actor: &Actor,
    id: &str,
    blocked: bool,
) -> Result<(), CliError> {
    match manage::set_client_blocked(state, actor, id, blocked).await {
        Ok(_) => {}
        // A metadata document URL not fetched yet can be blocked ahead.
        Err(AdminError::NotFound(_)) if blocked => manage::block_document_ahead(state, actor, id)
            .await
            .map_err(admin_err)?,
        Err(e) => return Err(admin_err(e)),
    }
    println!(
        "client {id:?} {}",
        if blocked { "blocked" } else { "unblocked" }
    );
    Ok(())
}

/// Host blocks are rows whose id is `https://<host>/` (never a valid
/// metadata document URL: its path is `/`).
fn is_host_block(c: &Client) -> bool {
    c.kind == ClientKind::MetadataDocument
        && c.client_id.starts_with("https://")
        && c.client_id.ends_with('/')
        && c.client_id["https://".len()..].matches('/').count() == 1
}

async fn block_host(
    state: &AppState,
    actor: &Actor,
    host: &str,
    blocked: bool,
) -> Result<(), CliError> {
    let changed = manage::set_host_blocked(state, actor, host, blocked)
        .await
        .map_err(admin_err)?;
    let host = host.trim().to_ascii_lowercase();
    match (blocked, changed) {
        (true, _) => println!("client ID metadata documents on {host} are blocked"),
        (false, true) => {
            println!("client ID metadata documents on {host} are no longer blocked")
        }
        (false, false) => return Err(CliError(format!("{host} is not blocked"))),
    }
    Ok(())
}
