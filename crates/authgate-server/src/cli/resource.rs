//! `authgate resource add|list|show|remove`.

use super::error::CliError;
use super::local::{Local, actor, admin_err, open_store};
use super::output;
use crate::state::AppState;
use authgate_authority::config::Settings;
use authgate_authority::manage;
use authgate_authority::manage::types::{ResourceInput, ScopeDto};
use authgate_core::model::Resource;
use authgate_core::model::SignupPolicy;
use authgate_core::scope::ScopeDef;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ResourceCmd {
    /// Register an MCP server (or replace one with the same id).
    Add(AddArgs),
    /// List MCP servers.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one MCP server and the metadata JSON it must serve.
    Show {
        /// The MCP server's id.
        id: String,
    },
    /// Remove an MCP server.
    Remove {
        /// The MCP server's id.
        id: String,
    },
}

/// `resource add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// Short identifier, e.g. `weather`.
    #[arg(long)]
    pub(super) id: String,
    /// Name shown on consent pages.
    #[arg(long)]
    name: String,
    /// The MCP server's canonical URL; becomes the tokens' `aud`.
    #[arg(long)]
    uri: String,
    /// A scope as `name=description`, or `name` alone (then the consent
    /// page shows just the name) (repeatable).
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
    /// Logo shown on the consent page (https URL).
    #[arg(long)]
    logo_uri: Option<String>,
    /// Self sign-up from this server's authorization requests: `inherit`
    /// (the instance's `[signup]`), `open` or `closed`.
    #[arg(long, value_parser = signup_arg, default_value = "inherit")]
    signup: SignupPolicy,
}

fn signup_arg(s: &str) -> Result<SignupPolicy, String> {
    SignupPolicy::parse(s).ok_or_else(|| format!("{s:?} is not one of inherit, open, closed"))
}

impl AddArgs {
    /// As the admin operations (and the admin API) take it.
    pub(super) fn input(self) -> Result<ResourceInput, CliError> {
        Ok(ResourceInput {
            scopes: parse_scopes(&self.scopes, &self.implies)?
                .iter()
                .map(ScopeDto::from)
                .collect(),
            id: Some(self.id),
            name: self.name,
            uri: self.uri,
            default_scopes: self.default_scopes,
            access_token_ttl_secs: self.access_token_ttl,
            refresh_token_idle_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            allow_dynamic_registration: !self.no_dynamic_registration,
            allow_client_id_metadata_documents: !self.no_client_id_metadata_documents,
            allow_dynamic_client_credentials: self.allow_dynamic_client_credentials,
            documentation_uri: self.documentation_uri,
            logo_uri: self.logo_uri,
            signup: self.signup,
        })
    }
}

fn parse_scopes(scopes: &[String], implies: &[String]) -> Result<Vec<ScopeDef>, CliError> {
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
    match cmd {
        ResourceCmd::Add(a) => {
            let id = a.id.clone();
            let input = a.input()?;
            let r = Local::run(settings, async |s| upsert(s, &id, input).await).await?;
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
        ResourceCmd::List { json } => list(settings, json).await?,
        ResourceCmd::Show { id } => show(settings, &id).await?,
        ResourceCmd::Remove { id } => {
            Local::run(settings, async |s| {
                manage::delete_resource(s, &actor(), &id)
                    .await
                    .map_err(admin_err)
            })
            .await?;
            println!("MCP server {id:?} removed");
        }
    }
    Ok(())
}

/// Adds the MCP server, or replaces the one with the same id.
async fn upsert(state: &AppState, id: &str, input: ResourceInput) -> Result<Resource, CliError> {
    let actor = actor();
    let exists = state.store.get_resource(id).await?.is_some();
    let r = if exists {
        manage::update_resource(state, &actor, id, input).await
    } else {
        manage::create_resource(state, &actor, input).await
    };
    r.map_err(admin_err)
}

async fn list(settings: &Settings, json: bool) -> Result<(), CliError> {
    let list = open_store(settings).await?.list_resources().await?;
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        println!("{}", output::json(&serde_json::Value::Array(v)));
        return Ok(());
    }
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
    Ok(())
}

async fn show(settings: &Settings, id: &str) -> Result<(), CliError> {
    let r = open_store(settings)
        .await?
        .get_resource(id)
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
    Ok(())
}
