//! The command line's arguments and subcommands. Each subcommand takes
//! only the flags it uses, so its `--help` lists only those: the
//! configuration flags ([`ConfigArgs`]) everywhere, the log flags
//! ([`LogArgs`]) and `--listen` on `serve`, `--server`/`--credentials`
//! ([`RemoteArgs`]) on the management commands. The same flags are still
//! accepted before the subcommand (`authgate --config x.toml serve`), as
//! they always were; given in both places, the one after the subcommand
//! wins.

use super::admin::{AdminCmd, AuditArgs};
use super::client::ClientCmd;
use super::connection::ConnectionCmd;
use super::keys::KeysCmd;
use super::org::OrgCmd;
use super::resource::ResourceCmd;
use super::seed::SeedArgs;
use super::user::UserCmd;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "authgate",
    version,
    about = "OAuth 2.1 authorization server for MCP servers"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "AUTHGATE_CONFIG")]
    pub(super) config: Option<PathBuf>,
    // The subcommands' flags, still accepted before the subcommand; hidden
    // here (each subcommand's --help describes the ones it uses).
    #[arg(long, hide = true)]
    pub(super) database_url: Option<String>,
    #[arg(long, hide = true)]
    pub(super) issuer: Option<String>,
    #[arg(long, hide = true)]
    pub(super) log_json: bool,
    #[arg(long, hide = true)]
    pub(super) log_level: Option<String>,
    #[arg(long, hide = true, env = "AUTHGATE_SERVER")]
    pub(super) server: Option<String>,
    #[arg(long, hide = true)]
    pub(super) credentials: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// Where the configuration comes from, and the flags that override it.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Configuration")]
pub(super) struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "AUTHGATE_CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// Database URL (sqlite://file.db or postgres://…); overrides the config.
    #[arg(long, global = true)]
    pub(super) database_url: Option<String>,
    /// Issuer URL, byte for byte as clients use it (no trailing `/`);
    /// overrides the config.
    #[arg(long, global = true)]
    pub(super) issuer: Option<String>,
}

/// Logging (`serve`; other commands log warnings only).
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Logging")]
pub(super) struct LogArgs {
    /// Log as JSON lines.
    #[arg(long)]
    pub(super) log_json: bool,
    /// Log level (error, warn, info, debug, trace); overrides the config.
    #[arg(long)]
    pub(super) log_level: Option<String>,
}

/// Managing a running server through its admin API.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Running server")]
pub(super) struct RemoteArgs {
    /// Manage a running server through its admin API instead of the local
    /// store: its issuer URL. Credentials: AUTHGATE_ADMIN_CLIENT_ID and
    /// AUTHGATE_ADMIN_CLIENT_SECRET, or --credentials.
    #[arg(long, global = true, env = "AUTHGATE_SERVER")]
    pub(super) server: Option<String>,
    /// File with the admin client's credentials for --server (JSON with
    /// client_id and client_secret, `key = value` lines, or what
    /// `authgate client add --confidential` printed).
    #[arg(long, global = true)]
    pub(super) credentials: Option<PathBuf>,
}

/// The flags of a management command: its configuration, or a server.
#[derive(Args, Debug, Default, Clone)]
pub(super) struct ManageArgs {
    #[command(flatten)]
    pub(super) config: ConfigArgs,
    #[command(flatten)]
    pub(super) remote: RemoteArgs,
}

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// Listen address (default 127.0.0.1:8080); overrides the config.
    #[arg(long)]
    pub(super) listen: Option<String>,
    #[command(flatten)]
    pub(super) config: ConfigArgs,
    #[command(flatten)]
    pub(super) log: LogArgs,
}

/// `authgate gateway`: the gateway reads its own configuration file, never
/// authgate's (`AUTHGATE_CONFIG`), so it takes no [`ConfigArgs`].
#[derive(Args, Debug)]
pub(super) struct GatewayArgs {
    /// The gateway's TOML configuration file.
    #[arg(long, env = "AUTHGATE_GATEWAY_CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// Listen address; overrides `listen` in the gateway's configuration
    /// (also AUTHGATE_GATEWAY_LISTEN).
    #[arg(long)]
    pub(super) listen: Option<String>,
    #[command(flatten)]
    pub(super) log: LogArgs,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Run the authorization server.
    Serve(ServeArgs),
    /// Run the gateway: protect any MCP server (streamable HTTP) with
    /// OAuth tokens and per-tool scopes, without code in the server.
    Gateway(GatewayArgs),
    /// Manage MCP servers (protected resources).
    Resource {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: ResourceCmd,
    },
    /// Manage clients.
    Client {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: ClientCmd,
    },
    /// Manage people who sign in.
    User {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage organizations, their email domains and connections, and
    /// group -> scope rules.
    Org {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: OrgCmd,
    },
    /// Manage upstream identity providers (OpenID Connect, GitHub).
    Connection {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: ConnectionCmd,
    },
    /// Manage signing keys.
    Keys {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Administrators and admin operations (first admin, secrets, password
    /// links, grants, key retirement, connection check).
    Admin {
        #[command(flatten)]
        common: ManageArgs,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Show the audit log, newest first.
    Audit {
        #[command(flatten)]
        common: ManageArgs,
        #[command(flatten)]
        args: AuditArgs,
    },
    /// (Benchmarks) print fresh refresh tokens for a client, one per line.
    #[command(hide = true)]
    BenchSeedRefresh {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        args: SeedArgs,
    },
}

impl Cli {
    /// The flags in effect: the subcommand's, else those given before it.
    pub(super) fn effective(&self) -> (ConfigArgs, LogArgs, RemoteArgs) {
        let (config, log, remote) = match &self.command {
            Command::Serve(s) => (s.config.clone(), s.log.clone(), RemoteArgs::default()),
            Command::Resource { common, .. }
            | Command::Client { common, .. }
            | Command::User { common, .. }
            | Command::Org { common, .. }
            | Command::Connection { common, .. }
            | Command::Keys { common, .. }
            | Command::Admin { common, .. }
            | Command::Audit { common, .. } => (
                common.config.clone(),
                LogArgs::default(),
                common.remote.clone(),
            ),
            Command::BenchSeedRefresh { config, .. } => {
                (config.clone(), LogArgs::default(), RemoteArgs::default())
            }
            // Never reaches authgate's configuration (see `GatewayArgs`).
            Command::Gateway(g) => (ConfigArgs::default(), g.log.clone(), RemoteArgs::default()),
        };
        (
            ConfigArgs {
                config: config.config.or_else(|| self.config.clone()),
                database_url: config.database_url.or_else(|| self.database_url.clone()),
                issuer: config.issuer.or_else(|| self.issuer.clone()),
            },
            LogArgs {
                log_json: log.log_json || self.log_json,
                log_level: log.log_level.or_else(|| self.log_level.clone()),
            },
            RemoteArgs {
                server: remote.server.or_else(|| self.server.clone()),
                credentials: remote.credentials.or_else(|| self.credentials.clone()),
            },
        )
    }
}
