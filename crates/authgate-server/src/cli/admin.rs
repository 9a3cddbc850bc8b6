//! `authgate admin …` and `authgate audit`: first-administrator bootstrap,
//! and the admin operations that have no older subcommand (secret rotation,
//! password links, a person's grants, key retirement, the connection
//! check, the audit log). Each works on the local store, or with
//! `--server` through a running server's admin API.

use super::api_client::{Credentials, Remote, seg};
use super::error::CliError;
use super::local::{Local, actor, admin_err, now, open_store};
use super::output;
use crate::format;
use authgate_authority::config::Settings;
use authgate_authority::manage;
use authgate_authority::manage::types::*;
use authgate_authority::setup_links::{self as setup, Purpose};
use authgate_core::model::Role;
use authgate_core::random::OsRandom;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Create an administrator on the local store (first-run bootstrap).
    /// The password is read from standard input (one line).
    Create {
        /// The administrator's email address.
        #[arg(long)]
        email: String,
        /// The name shown for them.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a one-time link (valid 1 hour) to create the first
    /// administrator in a browser. Only while there is none.
    SetupLink,
    /// Give a confidential client a new secret (printed once).
    RotateSecret {
        /// The client's id.
        client_id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A one-time link (24 hours) where a person sets a new password.
    PasswordLink {
        /// The person's email address.
        email: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What a person allowed: apps, MCP servers, scopes, grants.
    Grants {
        /// The person's email address.
        email: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke what a person allowed a client for an MCP server.
    RevokeGrant {
        /// The person's email address.
        email: String,
        /// The client's id.
        #[arg(long)]
        client: String,
        /// The MCP server's id.
        #[arg(long)]
        resource: String,
    },
    /// Remove a retired signing key from the JWKS now (tokens it signed stop
    /// verifying). The active key cannot be retired: rotate first.
    RetireKey {
        /// The key's id (kid), as `authgate keys list` shows it.
        kid: String,
    },
    /// Check an MCP server as a client would see it; exits non-zero when a
    /// point fails.
    Check {
        /// The MCP server's id.
        resource_id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `authgate audit`: the audit log, newest first.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Substring of the event, actor, client or MCP server.
    #[arg(long)]
    q: Option<String>,
    /// Events older than this id (the previous page's last id).
    #[arg(long)]
    before: Option<i64>,
    /// Most events shown.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Where the operations run.
enum Target {
    Local(Local),
    Remote(Remote),
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Target {
    async fn open(
        settings: &Settings,
        server: Option<&str>,
        creds: Option<&std::path::Path>,
    ) -> Result<Self, CliError> {
        Ok(match server {
            Some(s) => Target::Remote(Remote::connect(s, &Credentials::load(creds)?).await?),
            None => Target::Local(Local::open(settings).await?),
        })
    }

    /// Waits until local audit events are written.
    async fn finish(self) {
        if let Target::Local(l) = self {
            l.finish().await;
        }
    }

    async fn user_id(&self, email: &str) -> Result<String, CliError> {
        let email = email.trim().to_lowercase();
        match self {
            Target::Local(l) => l.state.store.get_user_by_email(&email).await?.map(|u| u.id),
            Target::Remote(r) => r
                .list_all("/users")
                .await?
                .into_iter()
                .find(|u| u["email"] == email.as_str())
                .and_then(|u| u["id"].as_str().map(str::to_owned)),
        }
        .ok_or_else(|| CliError(format!("no user {email:?}")))
    }

    async fn run(&self, cmd: &AdminCmd) -> Result<Value, CliError> {
        match cmd {
            AdminCmd::Create { .. } | AdminCmd::SetupLink => {
                Err(CliError("this works on the local store only".into()))
            }
            AdminCmd::RotateSecret { client_id, .. } => self.rotate_secret(client_id).await,
            AdminCmd::PasswordLink { email, .. } => {
                let id = self.user_id(email).await?;
                match self {
                    Target::Local(l) => manage::password_link(&l.state, &actor(), &id)
                        .await
                        .map(|v| to_json(&v))
                        .map_err(admin_err),
                    Target::Remote(r) => {
                        r.call("POST", &format!("/users/{}/password-link", seg(&id)), None)
                            .await
                    }
                }
            }
            AdminCmd::Grants { email, .. } => {
                let id = self.user_id(email).await?;
                match self {
                    Target::Local(l) => Ok(to_json(&AppList {
                        items: manage::user_apps(&l.state, &id).await.map_err(admin_err)?,
                        user_id: id,
                    })),
                    Target::Remote(r) => {
                        r.call("GET", &format!("/users/{}/grants", seg(&id)), None)
                            .await
                    }
                }
            }
            AdminCmd::RevokeGrant {
                email,
                client,
                resource,
            } => self.revoke_grant(email, client, resource).await,
            AdminCmd::RetireKey { kid } => self.retire_key(kid).await,
            AdminCmd::Check { resource_id, .. } => self.check(resource_id).await,
        }
    }

    async fn rotate_secret(&self, client_id: &str) -> Result<Value, CliError> {
        match self {
            Target::Local(l) => {
                let s = manage::rotate_client_secret(&l.state, &actor(), client_id)
                    .await
                    .map_err(admin_err)?;
                Ok(to_json(&SecretRotated {
                    client_id: client_id.to_owned(),
                    client_secret: s,
                }))
            }
            Target::Remote(r) => {
                r.call("POST", &format!("/clients/{}/secret", seg(client_id)), None)
                    .await
            }
        }
    }

    async fn revoke_grant(
        &self,
        email: &str,
        client: &str,
        resource: &str,
    ) -> Result<Value, CliError> {
        let id = self.user_id(email).await?;
        match self {
            Target::Local(l) => {
                let input = RevokeInput {
                    client_id: client.to_owned(),
                    resource_id: resource.to_owned(),
                };
                manage::revoke_app(&l.state, &actor(), &id, input)
                    .await
                    .map(|v| to_json(&v))
                    .map_err(admin_err)
            }
            Target::Remote(r) => {
                r.call(
                    "POST",
                    &format!("/users/{}/grants/revoke", seg(&id)),
                    Some(json!({"client_id": client, "resource_id": resource})),
                )
                .await
            }
        }
    }

    async fn retire_key(&self, kid: &str) -> Result<Value, CliError> {
        match self {
            Target::Local(l) => manage::retire_key(&l.state, &actor(), kid)
                .await
                .map(|v| to_json(&v))
                .map_err(admin_err),
            Target::Remote(r) => {
                r.call("POST", &format!("/keys/{}/retire", seg(kid)), None)
                    .await
            }
        }
    }

    async fn check(&self, resource_id: &str) -> Result<Value, CliError> {
        match self {
            Target::Local(l) => {
                let res = manage::get_resource(&l.state, resource_id)
                    .await
                    .map_err(admin_err)?;
                Ok(to_json(
                    &authgate_authority::check::run(&l.state, &res).await,
                ))
            }
            Target::Remote(r) => {
                r.call(
                    "POST",
                    &format!("/resources/{}/check", seg(resource_id)),
                    None,
                )
                .await
            }
        }
    }
}

fn print_result(cmd: &AdminCmd, v: &Value) -> Result<(), CliError> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    match cmd {
        AdminCmd::RotateSecret { json: true, .. }
        | AdminCmd::PasswordLink { json: true, .. }
        | AdminCmd::Grants { json: true, .. } => println!("{}", output::json(v)),
        AdminCmd::RotateSecret { .. } => {
            println!("client_id:     {}", s("client_id"));
            println!("client_secret: {}", s("client_secret"));
            println!("(the old secret no longer works; this one is shown only now)");
        }
        AdminCmd::PasswordLink { .. } => {
            println!("{}", s("url"));
            eprintln!(
                "single use; valid until {} UTC",
                format::time(v.get("expires_at").and_then(Value::as_i64))
            );
        }
        AdminCmd::Grants { .. } => print_grants(v),
        AdminCmd::RevokeGrant { .. } => println!(
            "consent removed: {}; grants revoked: {}",
            v["consent_removed"].as_bool().unwrap_or(false),
            v["grants_revoked"].as_u64().unwrap_or(0)
        ),
        AdminCmd::RetireKey { kid } => println!("signing key {kid} retired: no longer published"),
        AdminCmd::Check { json, .. } => return print_check(v, *json),
        AdminCmd::Create { .. } | AdminCmd::SetupLink => {}
    }
    Ok(())
}

/// A person's apps as a table.
fn print_grants(v: &Value) {
    let rows: Vec<Vec<String>> = v["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let scopes = a["consented_scopes"]
                .as_array()
                .map(|x| {
                    x.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let grants = a["grants"].as_array().map(Vec::len).unwrap_or(0);
            let last = a["grants"]
                .as_array()
                .and_then(|g| g.iter().filter_map(|x| x["last_used_at"].as_i64()).max());
            vec![
                a["client_id"].as_str().unwrap_or("").to_owned(),
                a["resource_id"].as_str().unwrap_or("").to_owned(),
                scopes,
                grants.to_string(),
                format::time(last),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &["CLIENT", "MCP SERVER", "SCOPES", "GRANTS", "LAST USED"],
            &rows
        )
    );
}

/// The connection check's points; an error when one failed.
fn print_check(v: &Value, json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", output::json(v));
    } else {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        println!("{} → {}", s("target"), s("metadata_url"));
        for p in v["points"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
        {
            let ok = p["ok"].as_bool().unwrap_or(false);
            println!(
                "{} {}\n    {}",
                if ok { "✓" } else { "✗" },
                p["label"].as_str().unwrap_or(""),
                p["detail"].as_str().unwrap_or("")
            );
        }
    }
    if v["ok"] != true {
        return Err(CliError("the connection check found problems".into()));
    }
    Ok(())
}

/// `authgate admin create`: the first administrator, offline.
async fn create(settings: &Settings, email: &str, name: Option<String>) -> Result<(), CliError> {
    let email = email.trim().to_lowercase();
    if !manage::valid_email(&email) {
        return Err(CliError(format!(
            "--email {email:?} is not an email address"
        )));
    }
    if let Some(u) = open_store(settings)
        .await?
        .get_user_by_email(&email)
        .await?
    {
        if u.role == Role::Admin {
            return Err(CliError(format!("{email} is already an administrator")));
        }
        return Err(CliError(format!(
            "{email} already has an account (not an administrator); use another email"
        )));
    }
    let input = UserInput {
        email: email.clone(),
        name,
        role: Role::Admin,
        password: Some(super::user::read_password()?),
        email_verified: false,
    };
    let (u, _) = Local::run(settings, async |s| {
        manage::create_user(s, &actor(), input)
            .await
            .map_err(admin_err)
    })
    .await?;
    println!("administrator {email} created (id {})", u.id);
    println!("sign in at {}/admin", settings.issuer);
    Ok(())
}

async fn setup_link(settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    if setup::store_has_admin(store.as_ref()).await? {
        return Err(CliError(
            "an administrator exists; sign in, or use `authgate admin create` for another".into(),
        ));
    }
    let link = setup::create_link_in(
        store.as_ref(),
        &settings.issuer,
        &OsRandom::new(),
        now(),
        Purpose::AdminSetup,
        None,
        setup::SETUP_LINK_TTL,
    )
    .await?;
    println!("{}", link.url);
    eprintln!(
        "single use; valid until {} UTC",
        format::time(Some(link.expires_at))
    );
    Ok(())
}

pub async fn run(
    cmd: AdminCmd,
    settings: &Settings,
    server: Option<&str>,
    creds: Option<&std::path::Path>,
) -> Result<(), CliError> {
    match (&cmd, server) {
        (AdminCmd::Create { .. } | AdminCmd::SetupLink, Some(_)) => {
            return Err(CliError(
                "`admin create` and `admin setup-link` work on the local store; drop --server"
                    .into(),
            ));
        }
        (AdminCmd::Create { email, name }, None) => {
            return create(settings, email, name.clone()).await;
        }
        (AdminCmd::SetupLink, None) => return setup_link(settings).await,
        _ => {}
    }
    let target = Target::open(settings, server, creds).await?;
    let result = target.run(&cmd).await;
    target.finish().await;
    print_result(&cmd, &result?)
}

pub async fn audit(
    a: AuditArgs,
    settings: &Settings,
    server: Option<&str>,
    creds: Option<&std::path::Path>,
) -> Result<(), CliError> {
    if !(1..=500).contains(&a.limit) {
        return Err(CliError("--limit must be between 1 and 500".into()));
    }
    let page: Value = match server {
        Some(s) => {
            let r = Remote::connect(s, &Credentials::load(creds)?).await?;
            let mut q = format!("/audit?limit={}", a.limit);
            if let Some(t) = &a.q {
                q.push_str(&format!("&q={}", seg(t)));
            }
            if let Some(b) = a.before {
                q.push_str(&format!("&before={b}"));
            }
            r.call("GET", &q, None).await?
        }
        None => {
            let store = open_store(settings).await?;
            let q = a.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
            let mut items = store.list_audit_events(q, a.before, a.limit + 1).await?;
            let more = items.len() as i64 > a.limit;
            items.truncate(a.limit as usize);
            let next_before = if more {
                items.last().map(|e| e.id)
            } else {
                None
            };
            to_json(&AuditPage {
                items: items.into_iter().map(AuditView::from).collect(),
                next_before,
            })
        }
    };
    if a.json {
        println!("{}", output::json(&page));
        return Ok(());
    }
    print_audit(&page);
    if let Some(b) = page["next_before"].as_i64() {
        eprintln!("older events: --before {b}");
    }
    Ok(())
}

/// An audit page as a table.
fn print_audit(page: &Value) {
    let str_of = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_owned();
    let rows: Vec<Vec<String>> = page["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            vec![
                e["id"].as_i64().unwrap_or(0).to_string(),
                format::time(e["at"].as_i64()),
                str_of(e, "event"),
                str_of(e, "actor"),
                str_of(e, "client_id"),
                str_of(e, "resource_id"),
                str_of(e, "address"),
                str_of(e, "outcome"),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID",
                "TIME (UTC)",
                "EVENT",
                "ACTOR",
                "CLIENT",
                "MCP SERVER",
                "ADDRESS",
                "OUTCOME"
            ],
            &rows
        )
    );
}
