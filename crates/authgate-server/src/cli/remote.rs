//! The `resource`, `client`, `user` and `keys` subcommands with `--server`:
//! the same commands and output, through a running server's admin API.

use super::api_client::{Remote, seg};
use super::client::ClientCmd;
use super::error::CliError;
use super::keys::KeysCmd;
use super::output;
use super::resource::{AddArgs as ResourceAdd, ResourceCmd};
use super::user::UserCmd;
use crate::format;
use authgate_authority::manage::types::UserView;
use authgate_core::model::Role;
use serde_json::{Value, json};

fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn words(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| x["name"].as_str().unwrap_or("").to_owned())
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

pub async fn resource(r: &Remote, cmd: ResourceCmd) -> Result<(), CliError> {
    match cmd {
        ResourceCmd::Add(a) => add_resource(r, a).await,
        ResourceCmd::List { json } => {
            let list = r.list_all("/resources").await?;
            if json {
                println!("{}", output::json(&Value::Array(list)));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|x| vec![s(x, "id"), s(x, "name"), s(x, "uri"), words(&x["scopes"])])
                .collect();
            print!(
                "{}",
                output::table(&["ID", "NAME", "URL (aud)", "SCOPES"], &rows)
            );
            Ok(())
        }
        ResourceCmd::Show { id } => {
            let m = r
                .call("GET", &format!("/resources/{}/metadata", seg(&id)), None)
                .await?;
            println!("{}", output::json(&m["metadata"]));
            eprintln!("Serve it at {}", s(&m, "metadata_url"));
            eprintln!(
                "Answer 401 with: WWW-Authenticate: {}",
                s(&m, "www_authenticate")
            );
            Ok(())
        }
        ResourceCmd::Remove { id } => {
            let v = r
                .call("DELETE", &format!("/resources/{}", seg(&id)), None)
                .await?;
            println!(
                "MCP server {id:?} removed: {} grant(s) revoked, {} consent(s) removed",
                s(&v, "grants_revoked"),
                s(&v, "consents_removed")
            );
            Ok(())
        }
    }
}

/// Adds an MCP server, or replaces the one with the same id (as on the
/// local store).
async fn add_resource(r: &Remote, a: ResourceAdd) -> Result<(), CliError> {
    let id = a.id.clone();
    let body = serde_json::to_value(a.input()?).map_err(|e| CliError(e.to_string()))?;
    let exists = r
        .call("GET", &format!("/resources/{}", seg(&id)), None)
        .await
        .is_ok();
    if exists {
        r.call("PUT", &format!("/resources/{}", seg(&id)), Some(body))
            .await?;
    } else {
        r.call("POST", "/resources", Some(body)).await?;
    }
    let m = r
        .call("GET", &format!("/resources/{}/metadata", seg(&id)), None)
        .await?;
    println!(
        "MCP server {id:?} registered. It must serve this at {}:",
        s(&m, "metadata_url")
    );
    println!("{}", output::json(&m["metadata"]));
    Ok(())
}

pub async fn client(r: &Remote, cmd: ClientCmd) -> Result<(), CliError> {
    match cmd {
        ClientCmd::Add(a) => {
            let body = serde_json::to_value(a.input()).map_err(|e| CliError(e.to_string()))?;
            let v = r.call("POST", "/clients", Some(body)).await?;
            println!("client_id:     {}", s(&v["client"], "client_id"));
            if let Some(secret) = v["client_secret"].as_str() {
                println!("client_secret: {secret}");
                println!("(the secret is shown only now; authgate keeps only its hash)");
            }
        }
        ClientCmd::List { json } => list_clients(r, json).await?,
        ClientCmd::Show { id } => {
            let v = r
                .call("GET", &format!("/clients/{}", seg(&id)), None)
                .await?;
            println!("{}", output::json(&v));
        }
        ClientCmd::Remove { id } => {
            let v = r
                .call("DELETE", &format!("/clients/{}", seg(&id)), None)
                .await?;
            println!(
                "client {id:?} removed: {} grant(s) revoked, {} consent(s) removed",
                s(&v, "grants_revoked"),
                s(&v, "consents_removed")
            );
        }
        ClientCmd::Block { id } => {
            r.call("POST", &format!("/clients/{}/block", seg(&id)), None)
                .await?;
            println!("client {id:?} blocked");
        }
        ClientCmd::Unblock { id } => {
            r.call("POST", &format!("/clients/{}/unblock", seg(&id)), None)
                .await?;
            println!("client {id:?} unblocked");
        }
        ClientCmd::BlockHost { .. } | ClientCmd::UnblockHost { .. } => {
            return Err(CliError(
                "this client command works on the local store only; drop --server".into(),
            ));
        }
    }
    Ok(())
}

async fn list_clients(r: &Remote, json: bool) -> Result<(), CliError> {
    let list = r.list_all("/clients").await?;
    if json {
        println!("{}", output::json(&Value::Array(list)));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                s(c, "client_id"),
                s(c, "kind"),
                s(c, "source"),
                s(c, "display_name"),
                format::time(c["created_at"].as_i64()),
                format::time(c["last_used_at"].as_i64()),
                if c["blocked"] == true { "blocked" } else { "" }.into(),
            ]
        })
        .collect();
    print!("{}", output::table(&super::client::CLIENT_COLUMNS, &rows));
    Ok(())
}

/// The person with `email`, found through the list's search.
async fn user_by_email(r: &Remote, email: &str) -> Result<Value, CliError> {
    let email = email.trim().to_lowercase();
    let q: String = url::form_urlencoded::byte_serialize(email.as_bytes()).collect();
    r.list_all(&format!("/users?q={q}"))
        .await?
        .into_iter()
        .find(|u| u["email"] == email.as_str())
        .ok_or_else(|| CliError(format!("no user {email:?}")))
}

/// POSTs (or `method`s) to a path under the person with `email`; the
/// answer and the person.
async fn on_person(
    r: &Remote,
    email: &str,
    method: &str,
    tail: &str,
    body: Option<Value>,
) -> Result<(Value, Value), CliError> {
    let u = user_by_email(r, email).await?;
    let v = r
        .call(method, &format!("/users/{}{tail}", seg(&s(&u, "id"))), body)
        .await?;
    Ok((v, u))
}

pub async fn user(r: &Remote, cmd: UserCmd) -> Result<(), CliError> {
    match cmd {
        UserCmd::VerifyEmail { email, send } => {
            let (_, u) = on_person(
                r,
                &email,
                "POST",
                "/verify-email",
                Some(json!({ "send": send })),
            )
            .await?;
            println!("{}", super::user::verify_email_done(&s(&u, "email"), send));
        }
        UserCmd::Add {
            email,
            name,
            role,
            admin,
            verified,
        } => {
            let pw = super::user::read_password()?;
            let role = if admin { Role::Admin } else { role };
            let v = r
                .call(
                    "POST",
                    "/users",
                    Some(
                        json!({"email": email, "name": name, "role": role, "password": pw,
                                "email_verified": verified}),
                    ),
                )
                .await?;
            println!(
                "user {} added (id {})",
                s(&v["user"], "email"),
                s(&v["user"], "id")
            );
        }
        UserCmd::Invite { email, name } => {
            let v = r
                .call(
                    "POST",
                    "/invitations",
                    Some(json!({"email": email, "name": name})),
                )
                .await?;
            println!(
                "invitation for {} sent; the link works until {}",
                s(&v["user"], "email"),
                crate::format::time(v["expires_at"].as_i64())
            );
        }
        UserCmd::List {
            json,
            search,
            role,
            disabled,
            active,
        } => {
            let f = super::user::list_filter(search, role, disabled, active);
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(t) = &f.text {
                query.append_pair("q", t);
            }
            if let Some(role) = f.role {
                query.append_pair("role", role.as_str());
            }
            if let Some(d) = f.disabled {
                query.append_pair("status", if d { "disabled" } else { "active" });
            }
            let list = r.list_all(&format!("/users?{}", query.finish())).await?;
            let views: Vec<UserView> = serde_json::from_value(Value::Array(list))
                .map_err(|e| CliError(format!("the admin API answered an unexpected list: {e}")))?;
            super::user::print_list(&views, json);
        }
        UserCmd::Edit {
            email,
            new_email,
            name,
        } => {
            let (v, _) = on_person(
                r,
                &email,
                "PATCH",
                "",
                Some(json!({"email": new_email, "name": name})),
            )
            .await?;
            println!("user {} updated", s(&v, "email"));
        }
        UserCmd::SetRole { email, role } => {
            let (v, _) = on_person(r, &email, "POST", "/role", Some(json!({"role": role}))).await?;
            println!("user {} is now {}", s(&v, "email"), s(&v, "role"));
        }
        UserCmd::Disable { email } => {
            let (_, u) = on_person(r, &email, "POST", "/disable", None).await?;
            println!("user {} disabled", s(&u, "email"));
        }
        UserCmd::Enable { email } => {
            let (_, u) = on_person(r, &email, "POST", "/enable", None).await?;
            println!("user {} enabled", s(&u, "email"));
        }
        UserCmd::Delete { email } => {
            let (v, _) = on_person(r, &email, "DELETE", "", None).await?;
            println!(
                "user {} deleted ({} grants, {} consents removed)",
                s(&v, "email"),
                s(&v, "grants_removed"),
                s(&v, "consents_removed")
            );
        }
        UserCmd::MfaReset { email } => {
            let (v, _) = on_person(r, &email, "POST", "/mfa-reset", None).await?;
            let done: authgate_authority::mfa::MfaReset = serde_json::from_value(v)
                .map_err(|e| CliError(format!("unexpected answer from the server: {e}")))?;
            super::user::print_mfa_reset(&email, &done);
        }
        UserCmd::SignOut { email } => {
            let (v, u) = on_person(r, &email, "POST", "/sign-out", None).await?;
            println!(
                "user {} signed out everywhere ({} sessions ended, {} grants revoked)",
                s(&u, "email"),
                s(&v, "sessions_ended"),
                s(&v, "grants_revoked")
            );
        }
    }
    Ok(())
}

pub async fn keys(r: &Remote, cmd: KeysCmd) -> Result<(), CliError> {
    match cmd {
        KeysCmd::List { json } => {
            let v = r.call("GET", "/keys", None).await?;
            if json {
                println!("{}", output::json(&v["items"]));
            } else {
                let rows: Vec<Vec<String>> = v["items"]
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|k| {
                        vec![
                            s(k, "kid"),
                            s(k, "alg"),
                            s(k, "state"),
                            format::time(k["created_at"].as_i64()),
                            format::time(k["remove_after"].as_i64()),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["KID", "ALG", "STATE", "CREATED", "LEAVES JWKS"], &rows)
                );
            }
        }
        KeysCmd::Rotate => {
            let v = r.call("POST", "/keys/rotate", None).await?;
            println!(
                "new signing key {} ({}) is active",
                s(&v, "kid"),
                s(&v, "alg")
            );
        }
    }
    Ok(())
}
