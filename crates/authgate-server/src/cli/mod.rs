//! The `authgate` command line: `serve`, and management commands that work
//! on the configured store (the same database `serve` uses) through the
//! admin operations, or with `--server` through a running server's admin
//! API.

mod admin;
mod api_client;
mod args;
mod client;
mod error;
mod keys;
mod local;
pub mod output;
mod remote;
mod resource;
mod seed;
mod user;

use args::{Cli, Command};
use authgate_authority::config::{self, Overrides, Settings};
use error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Command::Gateway { listen } = &cli.command {
        // The gateway has its own configuration file: `--config` when
        // given on the command line, else AUTHGATE_GATEWAY_CONFIG (never
        // AUTHGATE_CONFIG, which names authgate's own).
        let config =
            if matches.value_source("config") == Some(clap::parser::ValueSource::CommandLine) {
                cli.config.clone()
            } else {
                std::env::var_os("AUTHGATE_GATEWAY_CONFIG").map(PathBuf::from)
            };
        return gateway_main(&cli, config, listen.clone());
    }
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
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
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

/// The multi-threaded runtime (None, with the reason printed, when it
/// cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("authgate: cannot start the runtime: {e}");
            None
        }
    }
}

fn gateway_main(cli: &Cli, config: Option<PathBuf>, listen: Option<String>) -> ExitCode {
    crate::telemetry::init_logging(cli.log_level.as_deref().unwrap_or("info"), cli.log_json);
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    match rt.block_on(crate::gateway::run_standalone(config, listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authgate gateway: {e}");
            ExitCode::from(2)
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
        // Handled in `main` before authgate's configuration is read.
        Command::Gateway { .. } => Ok(()),
    }
}
