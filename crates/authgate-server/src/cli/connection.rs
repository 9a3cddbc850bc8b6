//! `authgate connection add|list|show|edit|remove|enable|disable`: upstream
//! identity providers (OpenID Connect, GitHub), on the local store through
//! the same operations as the admin API
//! (`authgate_authority::federation::manage`). The client secret is read
//! from a file (never a command-line argument, which other users of the
//! machine can see), sealed before it is stored, and never printed.

use super::error::CliError;
use super::local::{Local, actor, admin_err};
use super::output;
use authgate_authority::config::Settings;
use authgate_authority::federation::manage::{self as conns, ConnectionInput, ConnectionView};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ConnectionCmd {
    /// Add a connection: `--preset google|microsoft|github|gitlab
    /// --client-id X --client-secret-file F`, or a generic OpenID Connect
    /// issuer with `--upstream-issuer URL` (also for the okta, auth0 and
    /// keycloak presets). (`--issuer` is authgate's own issuer, a global
    /// flag.)
    Add {
        /// Its id: 1-64 lower-case letters, digits, '-' and '_'. It appears
        /// in the redirect URI to register at the provider.
        id: String,
        #[arg(long)]
        preset: Option<String>,
        /// The provider's OpenID Connect issuer URL. (A field not named
        /// `issuer`: clap would take it for the global `--issuer`.)
        #[arg(long)]
        upstream_issuer: Option<String>,
        #[arg(long)]
        client_id: String,
        /// A file holding the client secret (trailing newline ignored).
        /// Not with `--token-auth-method private_key_jwt`.
        #[arg(long)]
        client_secret_file: Option<PathBuf>,
        /// The name people see ("Continue with …").
        #[arg(long)]
        name: Option<String>,
        /// A scope to ask for (repeat; default: openid email profile).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// `client_secret_basic` (default), `client_secret_post`, or
        /// `private_key_jwt` (authgate makes a key for the connection and
        /// prints the URL of its public key to register at the provider).
        #[arg(long)]
        token_auth_method: Option<String>,
        /// With private_key_jwt: `RS256` (default) or `ES256`.
        #[arg(long)]
        client_key_alg: Option<String>,
        /// An email domain this provider is trusted for: a verified email
        /// there may link to an existing account (repeat).
        #[arg(long = "trusted-domain")]
        trusted_domains: Vec<String>,
        /// Show a button for it on the sign-in page.
        #[arg(long)]
        show_on_login: bool,
    },
    /// List connections.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a connection (never its secret) and its redirect URI.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a connection; what is not given stays.
    Edit {
        id: String,
        #[arg(long)]
        upstream_issuer: Option<String>,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        client_secret_file: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "trusted-domain")]
        trusted_domains: Option<Vec<String>>,
        #[arg(long)]
        show_on_login: Option<bool>,
        /// `client_secret_basic`, `client_secret_post` or
        /// `private_key_jwt`; absent keeps the current one.
        #[arg(long)]
        token_auth_method: Option<String>,
        /// With private_key_jwt: replace the key with a new one.
        #[arg(long)]
        rotate_key: bool,
    },
    /// Remove a connection and every account link through it.
    Remove { id: String },
    /// Turn a connection on.
    Enable { id: String },
    /// Turn a connection off: it signs nobody in.
    Disable { id: String },
}

fn read_secret(path: &PathBuf) -> Result<String, CliError> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    let s = s.trim_end_matches(['\n', '\r']).to_owned();
    if s.is_empty() {
        return Err(CliError(format!("{} is empty", path.display())));
    }
    Ok(s)
}

fn print_connection(c: &ConnectionView, json: bool) {
    if json {
        println!("{}", output::json(&serde_json::json!(c)));
        return;
    }
    println!("connection {} ({}, {})", c.id, c.display_name, c.kind);
    if let Some(p) = &c.preset {
        println!("  preset: {p}");
    }
    for k in ["issuer", "client_id", "token_endpoint_auth_method"] {
        if let Some(v) = c
            .config
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
        {
            println!("  {k}: {v}");
        }
    }
    println!(
        "  status: {}; on the sign-in page: {}; secret: {}",
        if c.disabled { "disabled" } else { "enabled" },
        if c.show_on_login { "yes" } else { "no" },
        if c.has_secret { "set" } else { "none" }
    );
    println!(
        "  trusted email domains: {}",
        c.trusted_email_domains.join(", ")
    );
    println!("  redirect URI: {}", c.redirect_uri);
    if let Some(j) = &c.jwks_uri {
        println!("  public key set (private_key_jwt): {j}");
    }
}

pub async fn run(cmd: ConnectionCmd, settings: &Settings) -> Result<(), CliError> {
    Local::run(settings, async |s| {
        let st = s.as_ref();
        let a = actor();
        match cmd {
            ConnectionCmd::Add {
                id,
                preset,
                upstream_issuer,
                client_id,
                client_secret_file,
                name,
                scopes,
                token_auth_method,
                client_key_alg,
                trusted_domains,
                show_on_login,
            } => {
                let input = ConnectionInput {
                    id,
                    preset,
                    display_name: name,
                    issuer: upstream_issuer,
                    client_id,
                    client_secret: match client_secret_file {
                        Some(f) => Some(read_secret(&f)?),
                        None => None,
                    },
                    scopes,
                    token_endpoint_auth_method: token_auth_method,
                    client_key_alg,
                    rotate_key: false,
                    trusted_email_domains: trusted_domains,
                    show_on_login,
                };
                let c = conns::create_connection(st, &a, input)
                    .await
                    .map_err(admin_err)?;
                println!(
                    "connection {} added; register this redirect URI at the provider:\n  {}",
                    c.id, c.redirect_uri
                );
                if let Some(j) = &c.jwks_uri {
                    println!("and this public key set (private_key_jwt):\n  {j}");
                }
            }
            ConnectionCmd::List { json } => {
                let list = conns::list_connections(st).await.map_err(admin_err)?;
                if json {
                    println!("{}", output::json(&serde_json::json!(list)));
                } else {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|c| {
                            vec![
                                c.id.clone(),
                                c.kind.clone(),
                                c.display_name.clone(),
                                if c.disabled { "disabled" } else { "enabled" }.into(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        output::table(&["ID", "KIND", "NAME", "STATUS"], &rows)
                    );
                }
            }
            ConnectionCmd::Show { id, json } => {
                print_connection(
                    &conns::show_connection(st, &id).await.map_err(admin_err)?,
                    json,
                );
            }
            ConnectionCmd::Edit {
                id,
                upstream_issuer,
                client_id,
                client_secret_file,
                name,
                trusted_domains,
                show_on_login,
                token_auth_method,
                rotate_key,
            } => {
                let cur = conns::show_connection(st, &id).await.map_err(admin_err)?;
                let cfg = |k: &str| {
                    cur.config
                        .get(k)
                        .and_then(|v| v.as_str())
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                };
                let input = ConnectionInput {
                    id: id.clone(),
                    preset: None,
                    display_name: Some(name.unwrap_or(cur.display_name.clone())),
                    issuer: upstream_issuer.or_else(|| cfg("issuer")),
                    client_id: client_id.or_else(|| cfg("client_id")).unwrap_or_default(),
                    client_secret: match client_secret_file {
                        Some(f) => Some(read_secret(&f)?),
                        None => None,
                    },
                    scopes: cur
                        .config
                        .get("scopes")
                        .and_then(|v| serde_json::from_value(v.clone()).ok())
                        .unwrap_or_default(),
                    token_endpoint_auth_method: token_auth_method
                        .or_else(|| cfg("token_endpoint_auth_method")),
                    client_key_alg: None,
                    rotate_key,
                    trusted_email_domains: trusted_domains
                        .unwrap_or(cur.trusted_email_domains.clone()),
                    show_on_login: show_on_login.unwrap_or(cur.show_on_login),
                };
                conns::update_connection(st, &a, &id, input)
                    .await
                    .map_err(admin_err)?;
                println!("connection {id} updated");
            }
            ConnectionCmd::Remove { id } => {
                conns::delete_connection(st, &a, &id)
                    .await
                    .map_err(admin_err)?;
                println!("connection {id} removed");
            }
            ConnectionCmd::Enable { id } => {
                conns::set_connection_disabled(st, &a, &id, false)
                    .await
                    .map_err(admin_err)?;
                println!("connection {id} enabled");
            }
            ConnectionCmd::Disable { id } => {
                conns::set_connection_disabled(st, &a, &id, true)
                    .await
                    .map_err(admin_err)?;
                println!("connection {id} disabled");
            }
        }
        Ok(())
    })
    .await
}
