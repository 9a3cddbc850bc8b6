//! `authgate resource add|list|show|remove`.

use super::{CliError, now, open_store, output};
use authgate_authority::config::{ResourceConfig, Settings};
use authgate_authority::provision;
use authgate_core::scope::ScopeDef;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ResourceCmd {
    /// Register an MCP server (or replace one with the same id).
    Add {
        /// Short identifier, e.g. `weather`.
        #[arg(long)]
        id: String,
        /// Name shown on consent pages.
        #[arg(long)]
        name: String,
        /// The MCP server's canonical URL; becomes the tokens' `aud`.
        #[arg(long)]
        uri: String,
        /// A scope as `name=description` (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// An implication as `broad>narrow`, e.g. `weather:write>weather:read` (repeatable).
        #[arg(long = "implies")]
        implies: Vec<String>,
        /// A scope granted when a client asks for none (repeatable).
        #[arg(long = "default-scope")]
        default_scopes: Vec<String>,
        /// Access token lifetime in seconds.
        #[arg(long)]
        access_token_ttl: Option<i64>,
        /// Refuse dynamically registered clients for this server.
        #[arg(long)]
        no_dynamic_registration: bool,
        /// Refuse client ID metadata document clients for this server.
        #[arg(long)]
        no_client_id_metadata_documents: bool,
        /// Give dynamically registered and metadata document clients the
        /// client_credentials grant for this server (off by default: such
        /// clients are anonymous).
        #[arg(long)]
        allow_dynamic_client_credentials: bool,
        /// Documentation URL published in the resource metadata.
        #[arg(long)]
        documentation_uri: Option<String>,
    },
    /// List MCP servers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one MCP server and the metadata JSON it must serve.
    Show { id: String },
    /// Remove an MCP server.
    Remove { id: String },
}

pub(super) fn parse_scopes(
    scopes: &[String],
    implies: &[String],
) -> Result<Vec<ScopeDef>, CliError> {
    let mut defs: Vec<ScopeDef> = scopes
        .iter()
        .map(|s| {
            let (name, desc) = s.split_once('=').unwrap_or((s.as_str(), ""));
            ScopeDef {
                name: name.trim().to_string(),
                description: desc.trim().to_string(),
                implies: vec![],
            }
        })
        .collect();
    for imp in implies {
        let (broad, narrow) = imp
            .split_once('>')
            .ok_or_else(|| CliError(format!("--implies {imp:?}: expected broad>narrow")))?;
        let d = defs
            .iter_mut()
            .find(|d| d.name == broad.trim())
            .ok_or_else(|| CliError(format!("--implies: {broad:?} is not a --scope")))?;
        d.implies.push(narrow.trim().to_string());
    }
    Ok(defs)
}

pub async fn run(cmd: ResourceCmd, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    match cmd {
        ResourceCmd::Add {
            id,
            name,
            uri,
            scopes,
            implies,
            default_scopes,
            access_token_ttl,
            no_dynamic_registration,
            no_client_id_metadata_documents,
            allow_dynamic_client_credentials,
            documentation_uri,
        } => {
            let rc = ResourceConfig {
                id,
                name,
                uri,
                scopes: parse_scopes(&scopes, &implies)?,
                default_scopes,
                access_token_ttl_secs: access_token_ttl,
                refresh_token_idle_ttl_secs: None,
                refresh_token_absolute_ttl_secs: None,
                allow_dynamic_registration: !no_dynamic_registration,
                allow_client_id_metadata_documents: !no_client_id_metadata_documents,
                allow_dynamic_client_credentials,
                documentation_uri,
            };
            provision::validate_resource_config(&rc)
                .map_err(|(k, why)| CliError(format!("{k}: {why}")))?;
            let uri = authgate_core::resource_uri::canonicalize(&rc.uri)
                .map_err(|e| CliError(format!("uri: {e}")))?;
            if let Some(other) =
                authgate_authority::registry::uri_taken_by(store.as_ref(), &uri, &rc.id).await?
            {
                return Err(CliError(format!(
                    "uri: MCP server {other:?} already has this URL (two MCP servers with one URL \
                     would make tokens' audience ambiguous); change or remove {other:?} first"
                )));
            }
            let existing = store.get_resource(&rc.id).await?;
            let r = provision::resource_from_config(&rc, existing.as_ref(), now());
            store.upsert_resource(&r).await?;
            println!(
                "MCP server {:?} registered. It must serve this at {}:",
                r.id,
                authgate_authority::resource_metadata::metadata_url(&r)
            );
            println!(
                "{}",
                output::json(&authgate_authority::resource_metadata::metadata(
                    &settings.issuer,
                    &r
                ))
            );
        }
        ResourceCmd::List { json } => {
            let list = store.list_resources().await?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap_or_default())
                    .collect();
                println!("{}", output::json(&serde_json::Value::Array(v)));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.name.clone(),
                            r.uri.clone(),
                            r.scopes
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(" "),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["ID", "NAME", "URL (aud)", "SCOPES"], &rows)
                );
            }
        }
        ResourceCmd::Show { id } => {
            let r = store
                .get_resource(&id)
                .await?
                .ok_or_else(|| CliError(format!("no MCP server with id {id:?}")))?;
            // Exactly the JSON to serve: scripts can redirect this output.
            println!(
                "{}",
                output::json(&authgate_authority::resource_metadata::metadata(
                    &settings.issuer,
                    &r
                ))
            );
            eprintln!(
                "Serve it at {}",
                authgate_authority::resource_metadata::metadata_url(&r)
            );
            eprintln!(
                "Answer 401 with: WWW-Authenticate: {}",
                authgate_authority::resource_metadata::www_authenticate(&r)
            );
        }
        ResourceCmd::Remove { id } => {
            if !store.delete_resource(&id).await? {
                return Err(CliError(format!("no MCP server with id {id:?}")));
            }
            println!("MCP server {id:?} removed");
        }
    }
    Ok(())
}
