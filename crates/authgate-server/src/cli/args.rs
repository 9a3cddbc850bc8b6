//! The command line's arguments and subcommands.

use super::admin::{AdminCmd, AuditArgs};
use super::client::ClientCmd;
use super::keys::KeysCmd;
use super::resource::ResourceCmd;
use super::seed::SeedArgs;
use super::user::UserCmd;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "authgate",
    version,
    about = "OAuth 2.1 authorization server for MCP servers"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "AUTHGATE_CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// Database URL (sqlite://file.db or postgres://…); overrides the config.
    #[arg(long, global = true)]
    pub(super) database_url: Option<String>,
    /// Issuer URL; overrides the config.
    #[arg(long, global = true)]
    pub(super) issuer: Option<String>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    pub(super) log_json: bool,
    /// Manage a running server through its admin API instead of the local
    /// store: its issuer URL. Credentials: AUTHGATE_ADMIN_CLIENT_ID and
    /// AUTHGATE_ADMIN_CLIENT_SECRET, or --credentials.
    #[arg(long, global = true, env = "AUTHGATE_SERVER")]
    pub(super) server: Option<String>,
    /// File with the admin client's credentials for --server (JSON with
    /// client_id and client_secret, or `key = value` lines).
    #[arg(long, global = true)]
    pub(super) credentials: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, global = true)]
    pub(super) log_level: Option<String>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Run the authorization server.
    Serve {
        /// Listen address (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run the gateway: protect any MCP server (streamable HTTP) with
    /// OAuth tokens and per-tool scopes, without code in the server.
    /// `--config` names the gateway's TOML (or AUTHGATE_GATEWAY_CONFIG).
    Gateway {
        /// Listen address (overrides `listen` in the gateway's config;
        /// also AUTHGATE_GATEWAY_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage MCP servers (protected resources).
    #[command(subcommand)]
    Resource(ResourceCmd),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage people who sign in.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Administrators and admin operations (first admin, secrets, password
    /// links, grants, key retirement, connection check).
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Show the audit log, newest first.
    Audit(AuditArgs),
    /// (Benchmarks) print fresh refresh tokens for a client, one per line.
    #[command(hide = true)]
    BenchSeedRefresh(SeedArgs),
}
