//! `authgate admin …` and `authgate audit`: first-administrator bootstrap,
//! and the admin operations that have no older subcommand (secret rotation,
//! password links, a person's grants, key retirement, the connection
//! check, the audit log). Each works on the local store, or with
//! `--server` through a running server's admin API.

use super::api_client::{Credentials, Remote, seg};
use super::{CliError, now, open_store, output};
use crate::app::SharedState;
use authgate_authority::config::Settings;
use authgate_authority::manage::types::*;
use authgate_authority::manage::{self, Actor, AdminError};
use authgate_authority::setup_links::{self as setup, Purpose};
use authgate_core::clock::{Clock, SystemClock};
use authgate_core::model::{AuditEvent, User};
use authgate_core::random::{OsRandom, Random};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Create an administrator on the local store (first-run bootstrap).
    /// The password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a one-time link (valid 1 hour) to create the first
    /// administrator in a browser. Only while there is none.
    SetupLink,
    /// Give a confidential client a new secret (printed once).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// A one-time link (24 hours) where a person sets a new password.
    PasswordLink {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// What a person allowed: apps, MCP servers, scopes, grants.
    Grants {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke what a person allowed a client for an MCP server.
    RevokeGrant {
        email: String,
        #[arg(long)]
        client: String,
        #[arg(long)]
        resource: String,
    },
    /// Remove a retired signing key from the JWKS now (tokens it signed stop
    /// verifying). The active key cannot be retired: rotate first.
    RetireKey { kid: String },
    /// Check an MCP server as a client would see it; exits non-zero when a
    /// point fails.
    Check {
        resource_id: String,
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
    #[arg(long, default_value_t = 50)]
    limit: i64,
    #[arg(long)]
    json: bool,
}

/// Where the operations run.
enum Target {
    Local {
        state: SharedState,
        audit: tokio::task::JoinHandle<()>,
    },
    Remote(Remote),
}

fn admin_err(e: AdminError) -> CliError {
    CliError(e.message())
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
        match server {
            Some(s) => Ok(Target::Remote(
                Remote::connect(s, &Credentials::load(creds)?).await?,
            )),
            None => {
                let store = open_store(settings).await?;
                let clock: Arc<dyn Clock> = Arc::new(SystemClock);
                let rng: Arc<dyn Random> = Arc::new(OsRandom::new());
                let (state, audit) = crate::serve::build_state(settings.clone(), store, clock, rng)
                    .await
                    .map_err(|e| CliError(e.to_string()))?;
                Ok(Target::Local { state, audit })
            }
        }
    }

    /// Waits until local audit events are written.
    async fn finish(self) {
        if let Target::Local { state, audit } = self {
            drop(state);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), audit).await;
        }
    }

    fn actor() -> Actor {
        Actor {
            name: "cli".into(),
            address: None,
        }
    }

    async fn user_id(&self, email: &str) -> Result<String, CliError> {
        let email = email.trim().to_lowercase();
        match self {
            Target::Local { state, .. } => state
                .store
                .get_user_by_email(&email)
                .await?
                .map(|u| u.id)
                .ok_or_else(|| CliError(format!("no user {email:?}"))),
            Target::Remote(r) => r
                .list_all("/users")
                .await?
                .into_iter()
                .find(|u| u["email"] == email.as_str())
                .and_then(|u| u["id"].as_str().map(str::to_owned))
                .ok_or_else(|| CliError(format!("no user {email:?}"))),
        }
    }

    async fn run(&self, cmd: &AdminCmd) -> Result<Value, CliError> {
        let actor = Self::actor();
        Ok(match (self, cmd) {
            (_, AdminCmd::Create { .. } | AdminCmd::SetupLink) => {
                return Err(CliError("this works on the local store only".into()));
            }
            (Target::Local { state, .. }, AdminCmd::RotateSecret { client_id, .. }) => {
                let s = manage::rotate_client_secret(state, &actor, client_id)
                    .await
                    .map_err(admin_err)?;
                to_json(&SecretRotated {
                    client_id: client_id.clone(),
                    client_secret: s,
                })
            }
            (Target::Remote(r), AdminCmd::RotateSecret { client_id, .. }) => {
                r.call("POST", &format!("/clients/{}/secret", seg(client_id)), None)
                    .await?
            }
            (t, AdminCmd::PasswordLink { email, .. }) => {
                let id = t.user_id(email).await?;
                match t {
                    Target::Local { state, .. } => to_json(
                        &manage::password_link(state, &actor, &id)
                            .await
                            .map_err(admin_err)?,
                    ),
                    Target::Remote(r) => {
                        r.call("POST", &format!("/users/{}/password-link", seg(&id)), None)
                            .await?
                    }
                }
            }
            (t, AdminCmd::Grants { email, .. }) => {
                let id = t.user_id(email).await?;
                match t {
                    Target::Local { state, .. } => to_json(&AppList {
                        items: manage::user_apps(state, &id).await.map_err(admin_err)?,
                        user_id: id,
                    }),
                    Target::Remote(r) => {
                        r.call("GET", &format!("/users/{}/grants", seg(&id)), None)
                            .await?
                    }
                }
            }
            (
                t,
                AdminCmd::RevokeGrant {
                    email,
                    client,
                    resource,
                },
            ) => {
                let id = t.user_id(email).await?;
                let input = RevokeInput {
                    client_id: client.clone(),
                    resource_id: resource.clone(),
                };
                match t {
                    Target::Local { state, .. } => to_json(
                        &manage::revoke_app(state, &actor, &id, input)
                            .await
                            .map_err(admin_err)?,
                    ),
                    Target::Remote(r) => {
                        r.call(
                            "POST",
                            &format!("/users/{}/grants/revoke", seg(&id)),
                            Some(json!({"client_id": client, "resource_id": resource})),
                        )
                        .await?
                    }
                }
            }
            (Target::Local { state, .. }, AdminCmd::RetireKey { kid }) => to_json(
                &manage::retire_key(state, &actor, kid)
                    .await
                    .map_err(admin_err)?,
            ),
            (Target::Remote(r), AdminCmd::RetireKey { kid }) => {
                r.call("POST", &format!("/keys/{}/retire", seg(kid)), None)
                    .await?
            }
            (Target::Local { state, .. }, AdminCmd::Check { resource_id, .. }) => {
                let res = manage::get_resource(state, resource_id)
                    .await
                    .map_err(admin_err)?;
                to_json(&authgate_authority::check::run(state, &res).await)
            }
            (Target::Remote(r), AdminCmd::Check { resource_id, .. }) => {
                r.call(
                    "POST",
                    &format!("/resources/{}/check", seg(resource_id)),
                    None,
                )
                .await?
            }
        })
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
                output::time(v.get("expires_at").and_then(Value::as_i64))
            );
        }
        AdminCmd::Grants { .. } => {
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
                        output::time(last),
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
        AdminCmd::RevokeGrant { .. } => println!(
            "consent removed: {}; grants revoked: {}",
            v["consent_removed"].as_bool().unwrap_or(false),
            v["grants_revoked"].as_u64().unwrap_or(0)
        ),
        AdminCmd::RetireKey { kid } => println!("signing key {kid} retired: no longer published"),
        AdminCmd::Check { json, .. } => {
            if *json {
                println!("{}", output::json(v));
            } else {
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
        }
        AdminCmd::Create { .. } | AdminCmd::SetupLink => {}
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
    let store = open_store(settings).await?;
    if let Some(u) = store.get_user_by_email(&email).await? {
        if u.is_admin {
            return Err(CliError(format!("{email} is already an administrator")));
        }
        return Err(CliError(format!(
            "{email} already has an account (not an administrator); use another email"
        )));
    }
    let pw = super::user::read_password()?;
    let rng = OsRandom::new();
    let u = User {
        id: authgate_core::secret::generate_id(&rng)?,
        email: email.clone(),
        name,
        password_hash: authgate_authority::passwords::hash_password(&pw, &rng)?,
        disabled: false,
        is_admin: true,
        created_at: now(),
    };
    store.insert_user(&u).await?;
    store
        .append_audit_events(vec![AuditEvent {
            id: 0,
            at: now(),
            event: "admin.user.created".into(),
            actor: Some("cli".into()),
            client_id: None,
            resource_id: None,
            address: None,
            outcome: "ok".into(),
            detail: json!({"user_id": u.id, "email": u.email, "is_admin": true}),
        }])
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
        output::time(Some(link.expires_at))
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
    let str_of = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_owned();
    let rows: Vec<Vec<String>> = page["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            vec![
                e["id"].as_i64().unwrap_or(0).to_string(),
                output::time(e["at"].as_i64()),
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
    if let Some(b) = page["next_before"].as_i64() {
        eprintln!("older events: --before {b}");
    }
    Ok(())
}

/// The audit event of a local management command that changes something
/// (the API records its own): event, client, resource, detail.
pub(super) fn local_event(
    cmd: &super::Command,
) -> Option<(&'static str, Option<String>, Option<String>, Value)> {
    use super::Command as C;
    use super::client::ClientCmd as Cl;
    use super::keys::KeysCmd as K;
    use super::resource::ResourceCmd as R;
    use super::user::UserCmd as U;
    Some(match cmd {
        C::Resource(R::Add { id, uri, .. }) => (
            "admin.resource.created",
            None,
            Some(id.clone()),
            json!({ "uri": uri }),
        ),
        C::Resource(R::Remove { id }) => (
            "admin.resource.deleted",
            None,
            Some(id.clone()),
            Value::Null,
        ),
        C::Client(Cl::Add { id, .. }) => {
            ("admin.client.created", Some(id.clone()), None, Value::Null)
        }
        C::Client(Cl::Remove { id }) => {
            ("admin.client.deleted", Some(id.clone()), None, Value::Null)
        }
        C::Client(Cl::Block { id }) => {
            ("admin.client.blocked", Some(id.clone()), None, Value::Null)
        }
        C::Client(Cl::Unblock { id }) => (
            "admin.client.unblocked",
            Some(id.clone()),
            None,
            Value::Null,
        ),
        C::Client(Cl::List { .. } | Cl::Show { .. }) => return None,
        C::Client(other) => (
            "admin.client.changed",
            None,
            None,
            json!({ "command": format!("{other:?}") }),
        ),
        C::User(U::Add { email, admin, .. }) => (
            "admin.user.created",
            None,
            None,
            json!({ "email": email.trim().to_lowercase(), "is_admin": admin }),
        ),
        C::User(U::Disable { email }) => (
            "admin.user.disabled",
            None,
            None,
            json!({ "email": email.trim().to_lowercase() }),
        ),
        C::User(U::Enable { email }) => (
            "admin.user.enabled",
            None,
            None,
            json!({ "email": email.trim().to_lowercase() }),
        ),
        C::Keys(K::Rotate) => ("key.rotated", None, None, Value::Null),
        _ => return None,
    })
}

/// Appends a local command's audit event (actor `cli`).
pub(super) async fn record_local(
    settings: &Settings,
    (event, client_id, resource_id, detail): (&'static str, Option<String>, Option<String>, Value),
) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    store
        .append_audit_events(vec![AuditEvent {
            id: 0,
            at: now(),
            event: event.into(),
            actor: Some("cli".into()),
            client_id,
            resource_id,
            address: None,
            outcome: "ok".into(),
            detail,
        }])
        .await?;
    Ok(())
}
