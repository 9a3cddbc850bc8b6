//! The dashboard's home: what is registered, recent sign-ins and their
//! failures, clients that may need a look, and the checklist of a new
//! deployment (each item's state and what to do).

use super::admin_page::{AdminPage, Home};
use super::audit::{Row as EventRow, rows as event_rows};
use super::client_list::origin_label;
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, error, failure, render};
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::builtin::is_builtin;
use authgate_authority::manage;
use authgate_core::model::{Client, ClientKind};
use authgate_store::{AuditFilter, ClientFilter};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

/// Sign-in events shown.
const SIGN_INS: i64 = 10;
/// Clients shown per reason.
const ATTENTION: i64 = 5;
/// Dynamic and metadata-document clients this recent are shown.
const RECENT_SECS: i64 = 7 * 86_400;

pub struct Count {
    pub label: &'static str,
    pub n: i64,
    pub href: String,
}

pub struct Attention {
    pub name: String,
    pub client_id: String,
    pub href: String,
    pub why: String,
}

pub struct Step {
    pub id: &'static str,
    pub title: &'static str,
    pub done: bool,
    /// What was found, or what to do.
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    a: AdminCtx,
    notice: Option<String>,
    counts: Vec<Count>,
    steps: Vec<Step>,
    sign_ins: Vec<EventRow>,
    sign_ins_href: String,
    attention: Vec<Attention>,
}

pub async fn show(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage<Home>,
) -> Response {
    let notice = (q.get("notice").map(String::as_str) == Some("kek-confirmed"))
        .then(|| "Recorded: the key-encryption key is backed up.".to_owned());
    match content(&state).await {
        Ok((counts, steps, sign_ins, attention)) => {
            let base = state.settings.issuer_path();
            let page = HomePage {
                a: admin.ctx(&state, "home"),
                notice,
                counts,
                steps,
                sign_ins: event_rows(&state, sign_ins).await,
                sign_ins_href: format!("{base}/admin/audit?event=sign_in."),
                attention,
            };
            render(&state, StatusCode::OK, &page)
        }
        Err(e) => failure(&state, e),
    }
}

type Content = (
    Vec<Count>,
    Vec<Step>,
    Vec<authgate_core::model::AuditEvent>,
    Vec<Attention>,
);

async fn content(state: &AppState) -> Result<Content, authgate_store::StoreError> {
    let base = state.settings.issuer_path();
    let store = &state.store;
    let servers: Vec<_> = store
        .list_resources()
        .await?
        .into_iter()
        .filter(|r| !is_builtin(&r.id))
        .collect();
    let mut counts = vec![Count {
        label: "MCP servers",
        n: servers.len() as i64,
        href: format!("{base}/admin/servers"),
    }];
    for (kind, origin) in [
        (ClientKind::PreRegistered, "pre-registered"),
        (ClientKind::Dynamic, "dynamic"),
        (ClientKind::MetadataDocument, "metadata-document"),
    ] {
        counts.push(Count {
            label: match kind {
                ClientKind::PreRegistered => "pre-registered clients",
                ClientKind::Dynamic => "dynamically registered clients",
                ClientKind::MetadataDocument => "metadata-document clients",
            },
            n: store.count_clients(kind).await?,
            href: format!("{base}/admin/clients?origin={origin}"),
        });
    }
    counts.push(Count {
        label: "people",
        n: store.list_users().await?.len() as i64,
        href: format!("{base}/admin/users"),
    });

    let facts = manage::deployment_facts(state)
        .await
        .map_err(|e| authgate_store::StoreError::Backend(e.to_string()))?;
    let steps = checklist(state, &servers, &facts);

    let sign_ins = store
        .find_audit_events(
            &AuditFilter {
                event_prefix: Some("sign_in.".into()),
                ..AuditFilter::default()
            },
            None,
            SIGN_INS,
        )
        .await?;

    let attention = attention(state).await?;
    Ok((counts, steps, sign_ins, attention))
}

fn checklist(
    state: &AppState,
    servers: &[authgate_core::model::Resource],
    facts: &manage::DeploymentFacts,
) -> Vec<Step> {
    let issuer = &state.settings.issuer;
    let https = issuer.starts_with("https://");
    let green: Vec<&str> = facts
        .checks
        .iter()
        .filter(|(id, ok, _)| *ok && servers.iter().any(|s| &s.id == id))
        .map(|(id, _, _)| id.as_str())
        .collect();
    let failing = facts
        .checks
        .iter()
        .filter(|(id, ok, _)| !*ok && servers.iter().any(|s| &s.id == id))
        .count();
    vec![
        Step {
            id: "issuer-https",
            title: "The issuer is an https URL",
            done: https,
            text: if https {
                format!("Clients and MCP servers see the issuer {issuer}.")
            } else {
                format!(
                    "The issuer is {issuer}. Set issuer = \"https://…\" (or AUTHGATE_ISSUER) to the public https address, behind TLS or a proxy listed in trusted_proxies, then restart."
                )
            },
        },
        Step {
            id: "kek-backup",
            title: "The key-encryption key is backed up",
            done: facts.kek_backup.is_some(),
            text: match &facts.kek_backup {
                Some((by, at)) => format!("Confirmed by {by} on {}.", when(Some(*at))),
                None => "Signing keys are encrypted with it: without a copy, a lost data directory means new keys and every token invalid. Copy key_encryption_key_file (default: the kek file in the data directory) somewhere safe, then confirm here.".into(),
            },
        },
        Step {
            id: "server-checked",
            title: "An MCP server passed its connection check",
            done: !green.is_empty(),
            text: match (green.is_empty(), servers.is_empty(), failing) {
                (false, _, _) => format!("Passed: {}.", green.join(", ")),
                (true, true, _) => "Add an MCP server, then run its connection check from its page.".into(),
                (true, false, 0) => "Open an MCP server and run its connection check.".into(),
                (true, false, n) => format!("{n} check{} failed: open the server, fix what the check reports and run it again.", if n == 1 { "" } else { "s" }),
            },
        },
    ]
}

/// Clients that may need a look: blocked ones, dynamic and
/// metadata-document clients registered this week, and pre-registered
/// ones allowed no MCP server.
async fn attention(state: &AppState) -> Result<Vec<Attention>, authgate_store::StoreError> {
    let base = state.settings.issuer_path();
    let now = state.clock.now();
    let item = |c: &Client, why: String| Attention {
        name: c.display_name().to_owned(),
        href: format!(
            "{base}/admin/clients/view?client_id={}",
            display::seg(&c.client_id)
        ),
        client_id: c.client_id.clone(),
        why,
    };
    let page = |kind: Option<ClientKind>, blocked: Option<bool>| ClientFilter {
        text: None,
        kind,
        blocked,
    };
    let mut out = Vec::new();
    for c in state
        .store
        .list_clients_page(&page(None, Some(true)), 0, ATTENTION)
        .await?
        .items
    {
        out.push(item(&c, format!("blocked ({})", origin_label(c.kind))));
    }
    for kind in [ClientKind::Dynamic, ClientKind::MetadataDocument] {
        for c in state
            .store
            .list_clients_page(&page(Some(kind), Some(false)), 0, ATTENTION)
            .await?
            .items
            .into_iter()
            .filter(|c| c.created_at >= now - RECENT_SECS)
        {
            out.push(item(
                &c,
                format!(
                    "new {} client, {}",
                    origin_label(kind),
                    when(Some(c.created_at))
                ),
            ));
        }
    }
    for c in state
        .store
        .list_clients_page(&page(Some(ClientKind::PreRegistered), Some(false)), 0, 100)
        .await?
        .items
        .into_iter()
        .filter(|c| c.resources.is_empty())
        .take(ATTENTION as usize)
    {
        out.push(item(
            &c,
            "allowed no MCP server: it cannot get tokens".into(),
        ));
    }
    Ok(out)
}

/// An operator confirms the key-encryption key is backed up.
pub async fn confirm_kek_backup(State(state): State<SharedState>, f: Submitted) -> Response {
    match manage::confirm_kek_backup(&state, &f.admin.actor).await {
        Ok(()) => page::see_other(&format!(
            "{}/admin?notice=kek-confirmed",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
