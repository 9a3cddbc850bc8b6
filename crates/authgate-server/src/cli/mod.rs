//! The `authgate` command line: `serve`, and management commands that work
//! on the configured store (the same database `serve` uses) through the
//! admin operations, or with `--server` through a running server's admin
//! API.

mod admin;
mod api_client;
mod args;
mod client;
mod connection;
mod error;
mod keys;
mod local;
mod org;
pub mod output;
mod remote;
mod resource;
mod seed;
mod user;

use args::{Cli, Command};
use authgate_authority::config::{self, Overrides, Settings};
use clap::Parser;
use error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Gateway(g) = &cli.command {
        return gateway_main(g);
    }
    let (cfg, log, remote) = cli.effective();
    let listen = match &cli.command {
        Command::Serve(s) => s.listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        issuer: cfg.issuer,
        listen,
        database_url: cfg.database_url,
        log_json: log.log_json.then_some(true),
        log_level: log.log_level,
    };
    let settings = match config::load(cfg.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authgate: {e}");
            return ExitCode::from(2);
        }
    };
    let level = if matches!(cli.command, Command::Serve(_)) {
        settings.raw.log_level.clone()
    } else {
        "warn".to_string()
    };
    crate::telemetry::init_logging(&level, settings.raw.log_json);
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let remote = (remote.server, remote.credentials);
    let result = rt.block_on(dispatch(cli.command, settings, remote));
    // A command is done when `dispatch` returns: a blocking task still
    // running (a DNS lookup, a database worker) must not keep the process
    // alive after its answer was printed.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
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

fn gateway_main(g: &args::GatewayArgs) -> ExitCode {
    crate::telemetry::init_logging(g.log.log_level.as_deref().unwrap_or("info"), g.log.log_json);
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    match rt.block_on(crate::gateway::run_standalone(
        g.config.clone(),
        g.listen.clone(),
    )) {
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
            Command::Resource { .. }
                | Command::Client { .. }
                | Command::User { .. }
                | Command::Keys { .. }
        )
    {
        let r = api_client::Remote::connect(s, &api_client::Credentials::load(creds)?).await?;
        return match cmd {
            Command::Resource { cmd, .. } => remote::resource(&r, cmd).await,
            Command::Client { cmd, .. } => remote::client(&r, cmd).await,
            Command::User { cmd, .. } => remote::user(&r, cmd).await,
            Command::Keys { cmd, .. } => remote::keys(&r, cmd).await,
            _ => Ok(()),
        };
    }
    match cmd {
        Command::Serve(_) => crate::serve::run(settings.clone())
            .await
            .map_err(|e| CliError(e.to_string())),
        Command::Resource { cmd, .. } => resource::run(cmd, &settings).await,
        Command::Client { cmd, .. } => client::run(cmd, &settings).await,
        Command::User { cmd, .. } => user::run(cmd, &settings).await,
        Command::Org { .. } if server.is_some() => Err(CliError(
            "`authgate org` works on the local store only (no --server yet): run it where the \
             database is"
                .into(),
        )),
        Command::Org { cmd, .. } => org::run(cmd, &settings).await,
        Command::Connection { .. } if server.is_some() => Err(CliError(
            "`authgate connection` works on the local store only (no --server yet): run it where \
             the database is"
                .into(),
        )),
        Command::Connection { cmd, .. } => connection::run(cmd, &settings).await,
        Command::Keys { cmd, .. } => keys::run(cmd, &settings).await,
        Command::Admin { cmd, .. } => admin::run(cmd, &settings, server, creds).await,
        Command::Audit { args, .. } => admin::audit(args, &settings, server, creds).await,
        Command::BenchSeedRefresh { args, .. } => seed::run(args, &settings).await,
        // Handled in `main` before authgate's configuration is read.
        Command::Gateway(_) => Ok(()),
    }
}
