//! The `authgate` command line: `serve`, and management commands that work
//! on the configured store (the same database `serve` uses) through the
//! admin operations, or with `--server` through a running server's admin
//! API.

mod admin;
mod api_client;
mod client;
mod keys;
mod local;
pub mod output;
mod remote;
mod resource;
mod seed;
mod user;

use authgate_authority::config::{self, Overrides, Settings};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "authgate",
    version,
    about = "OAuth 2.1 authorization server for MCP servers"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "AUTHGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (sqlite://file.db or postgres://…); overrides the config.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Issuer URL; overrides the config.
    #[arg(long, global = true)]
    issuer: Option<String>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    /// Manage a running server through its admin API instead of the local
    /// store: its issuer URL. Credentials: AUTHGATE_ADMIN_CLIENT_ID and
    /// AUTHGATE_ADMIN_CLIENT_SECRET, or --credentials.
    #[arg(long, global = true, env = "AUTHGATE_SERVER")]
    server: Option<String>,
    /// File with the admin client's credentials for --server (JSON with
    /// client_id and client_secret, or `key = value` lines).
    #[arg(long, global = true)]
    credentials: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the authorization server.
    Serve {
        /// Listen address (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage MCP servers (protected resources).
    #[command(subcommand)]
    Resource(resource::ResourceCmd),
    /// Manage clients.
    #[command(subcommand)]
    Client(client::ClientCmd),
    /// Manage people who sign in.
    #[command(subcommand)]
    User(user::UserCmd),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Administrators and admin operations (first admin, secrets, password
    /// links, grants, key retirement, connection check).
    #[command(subcommand)]
    Admin(admin::AdminCmd),
    /// Show the audit log, newest first.
    Audit(admin::AuditArgs),
    /// (Benchmarks) print fresh refresh tokens for a client, one per line.
    #[command(hide = true)]
    BenchSeedRefresh(seed::SeedArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        issuer: cli.issuer.clone(),
        listen,
        database_url: cli.database_url.clone(),
        log_json: cli.log_json.then_some(true),
        log_level: cli.log_level.clone(),
    };
    let settings = match config::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authgate: {e}");
            return ExitCode::from(2);
        }
    };
    let level = if matches!(cli.command, Command::Serve { .. }) {
        settings.raw.log_level.clone()
    } else {
        "warn".to_string()
    };
    crate::telemetry::init_logging(&level, settings.raw.log_json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("authgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let remote = (cli.server.clone(), cli.credentials.clone());
    let result = rt.block_on(dispatch(cli.command, settings, remote));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authgate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(
    cmd: Command,
    settings: Settings,
    (server, creds): (Option<String>, Option<PathBuf>),
) -> Result<(), CliError> {
    let (server, creds) = (server.as_deref(), creds.as_deref());
    if let Some(s) = server
        && matches!(
            cmd,
            Command::Resource(_) | Command::Client(_) | Command::User(_) | Command::Keys(_)
        )
    {
        let r = api_client::Remote::connect(s, &api_client::Credentials::load(creds)?).await?;
        return match cmd {
            Command::Resource(c) => remote::resource(&r, c).await,
            Command::Client(c) => remote::client(&r, c).await,
            Command::User(c) => remote::user(&r, c).await,
            Command::Keys(c) => remote::keys(&r, c).await,
            _ => Ok(()),
        };
    }
    match cmd {
        Command::Serve { .. } => crate::serve::run(settings.clone())
            .await
            .map_err(|e| CliError(e.to_string())),
        Command::Resource(c) => resource::run(c, &settings).await,
        Command::Client(c) => client::run(c, &settings).await,
        Command::User(c) => user::run(c, &settings).await,
        Command::Keys(c) => keys::run(c, &settings).await,
        Command::Admin(c) => admin::run(c, &settings, server, creds).await,
        Command::Audit(a) => admin::audit(a, &settings, server, creds).await,
        Command::BenchSeedRefresh(a) => seed::run(a, &settings).await,
    }
}

/// A command failure, printed as `authgate: <message>`.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<authgate_core::random::RandomError> for CliError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        CliError(e.to_string())
    }
}

impl From<authgate_authority::passwords::HashError> for CliError {
    fn from(e: authgate_authority::passwords::HashError) -> Self {
        CliError(e.to_string())
    }
}

impl From<authgate_store::StoreError> for CliError {
    fn from(e: authgate_store::StoreError) -> Self {
        CliError(e.to_string())
    }
}

pub(crate) async fn open_store(
    settings: &Settings,
) -> Result<std::sync::Arc<dyn authgate_store::Store>, CliError> {
    authgate_authority::store_open::open(&settings.database_url)
        .await
        .map_err(|e| CliError(format!("cannot open the database: {e}")))
}

pub(crate) fn now() -> i64 {
    use authgate_core::clock::Clock;
    authgate_core::clock::SystemClock.now()
}
