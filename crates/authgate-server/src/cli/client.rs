//! `authgate client add|list|show|remove|block|unblock|block-host|unblock-host`.

use super::{CliError, now, open_store, output};
use authgate_authority::config::{ClientConfig, Settings};
use authgate_core::model::{ANY_RESOURCE, Client, ClientKind, ClientMetadata};
use authgate_core::random::OsRandom;
use authgate_core::secret;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// Register a client. Confidential clients get a secret, shown once.
    Add {
        #[arg(long)]
        id: String,
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
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show { id: String },
    /// Delete a client.
    Remove { id: String },
    /// Block a client: it can no longer authenticate or authorize.
    Block { id: String },
    /// Unblock a client.
    Unblock { id: String },
    /// Refuse every client ID metadata document on a host (e.g.
    /// `evil.example`), including URLs never seen before. Takes effect on
    /// running servers within seconds.
    BlockHost { host: String },
    /// Lift a host block made with `block-host`.
    UnblockHost { host: String },
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
    let store = open_store(settings).await?;
    match cmd {
        ClientCmd::Add {
            id,
            name,
            confidential,
            resources,
            scopes,
            redirect_uris,
            grant_types,
        } => {
            let secret_plain = confidential
                .then(|| secret::generate(&OsRandom::new()))
                .transpose()?;
            let cc = ClientConfig {
                client_id: id,
                client_name: name,
                client_secret: secret_plain.clone(),
                client_secret_file: None,
                token_endpoint_auth_method: None,
                redirect_uris,
                grant_types,
                resources,
                scopes: (!scopes.is_empty()).then_some(scopes),
            };
            authgate_authority::provision::validate_client_config(&cc, &[])
                .map_err(|(k, why)| CliError(format!("{k}: {why}")))?;
            for r in cc.resources.iter().filter(|r| *r != ANY_RESOURCE) {
                if store.get_resource(r).await?.is_none() {
                    return Err(CliError(format!("--resource {r:?}: no such MCP server")));
                }
            }
            // The same defaults as a client declared in the config file.
            let c = authgate_authority::provision::client_from_config(
                &cc,
                secret_plain.as_deref(),
                None,
                now(),
            );
            store.insert_client(&c).await?;
            println!("client_id:     {}", c.client_id);
            if let Some(s) = secret_plain {
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
        ClientCmd::List { json } => {
            let list = store.list_clients().await?;
            if json {
                println!(
                    "{}",
                    output::json(&serde_json::Value::Array(
                        list.iter().map(describe).collect()
                    ))
                );
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|c| {
                        vec![
                            c.client_id.clone(),
                            c.kind.as_str().into(),
                            source(c),
                            c.display_name().into(),
                            output::time(Some(c.created_at)),
                            output::time(c.last_used_at),
                            if c.blocked {
                                "blocked".into()
                            } else {
                                "".into()
                            },
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(
                        &[
                            "CLIENT ID",
                            "KIND",
                            "SOURCE",
                            "NAME",
                            "CREATED",
                            "LAST USED",
                            ""
                        ],
                        &rows
                    )
                );
            }
        }
        ClientCmd::Show { id } => {
            let c = store
                .get_client(&id)
                .await?
                .ok_or_else(|| CliError(format!("no client {id:?}")))?;
            println!("{}", output::json(&describe(&c)));
        }
        ClientCmd::Remove { id } => {
            if !store.delete_client(&id).await? {
                return Err(CliError(format!("no client {id:?}")));
            }
            println!("client {id:?} removed");
        }
        ClientCmd::Block { id } => set_blocked(store.as_ref(), &id, true).await?,
        ClientCmd::Unblock { id } => set_blocked(store.as_ref(), &id, false).await?,
        ClientCmd::BlockHost { host } => block_host(store.as_ref(), &host, true).await?,
        ClientCmd::UnblockHost { host } => block_host(store.as_ref(), &host, false).await?,
    }
    Ok(())
}

async fn set_blocked(
    store: &dyn authgate_store::Store,
    id: &str,
    blocked: bool,
) -> Result<(), CliError> {
    let Some(mut c) = store.get_client(id).await? else {
        // A metadata document URL not fetched yet can be blocked ahead.
        if blocked && authgate_authority::cimd::parse_client_id_url(id, false).is_ok() {
            store.insert_client(&document_block_row(id)).await?;
            println!("client {id:?} blocked");
            return Ok(());
        }
        return Err(CliError(format!("no client {id:?}")));
    };
    c.blocked = blocked;
    store.update_client(&c).await?;
    println!(
        "client {id:?} {}",
        if blocked { "blocked" } else { "unblocked" }
    );
    Ok(())
}

/// A blocked metadata-document row standing for a URL or a whole host.
fn document_block_row(id: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        kind: ClientKind::MetadataDocument,
        metadata: ClientMetadata::default(),
        secret_hash: None,
        registration_access_token_hash: None,
        resources: vec![],
        allowed_scopes: None,
        blocked: true,
        registration_fingerprint: None,
        registration_count: 0,
        created_at: now(),
        last_used_at: None,
    }
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
    store: &dyn authgate_store::Store,
    host: &str,
    blocked: bool,
) -> Result<(), CliError> {
    let host = host.trim().to_ascii_lowercase();
    let valid = !host.is_empty()
        && url::Url::parse(&format!("https://{host}/"))
            .ok()
            .and_then(|u| u.host_str().map(|h| h == host))
            .unwrap_or(false);
    if !valid {
        return Err(CliError(format!(
            "{host:?} is not a host name (give e.g. app.example.com, no scheme or path)"
        )));
    }
    let id = authgate_authority::cimd::host_block_id(&host);
    if blocked {
        match store.get_client(&id).await? {
            Some(mut c) => {
                c.blocked = true;
                store.update_client(&c).await?;
            }
            None => store.insert_client(&document_block_row(&id)).await?,
        }
        println!("client ID metadata documents on {host} are blocked");
    } else {
        if !store.delete_client(&id).await? {
            return Err(CliError(format!("{host} is not blocked")));
        }
        println!("client ID metadata documents on {host} are no longer blocked");
    }
    Ok(())
}
