//! Organizations in the dashboard (issue 19): the list and a form to add
//! one; an organization's page with its settings (connections, password
//! and MFA policy), its email domains (the DNS record to publish, a DNS
//! check, or marking one verified by hand), deactivation and deletion.
//! Every change goes through `orgs::manage`, like the API and the CLI.

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, error, failure, render};
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::orgs::dns::HickoryResolver;
use authgate_authority::orgs::manage::{self as orgs, OrgInput, OrgView};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

pub struct Row {
    pub id: String,
    pub name: String,
    pub domains: String,
    pub connections: String,
    pub disabled: bool,
    pub created: String,
}

/// What the add form had, shown again with its error.
#[derive(Default)]
pub struct Draft {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/orgs.html")]
struct ListPage {
    a: AdminCtx,
    rows: Vec<Row>,
    notice: Option<String>,
    error: Option<String>,
    v: Draft,
}

#[derive(Template)]
#[template(path = "admin/org.html")]
struct DetailPage {
    a: AdminCtx,
    o: OrgView,
    connections: String,
    created: String,
    verified_at: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
}

fn to_list(state: &AppState, notice: &str) -> Response {
    page::see_other(&format!(
        "{}/admin/orgs?notice={notice}",
        state.settings.issuer_path()
    ))
}

fn to_org(state: &AppState, id: &str, notice: &str) -> Response {
    page::see_other(&format!(
        "{}/admin/orgs/{}?notice={notice}",
        state.settings.issuer_path(),
        display::seg(id)
    ))
}

async fn list_page(
    state: &AppState,
    admin: &super::layout::AdminSession,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    v: Draft,
) -> Response {
    let all = match orgs::list_orgs(state).await {
        Ok(o) => o,
        Err(e) => return failure(state, e),
    };
    let rows = all
        .into_iter()
        .map(|o| Row {
            domains: o
                .domains
                .iter()
                .map(|d| {
                    if d.verified {
                        d.domain.clone()
                    } else {
                        format!("{} (unverified)", d.domain)
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            connections: o.connection_ids.join(", "),
            disabled: o.disabled,
            created: when(Some(o.created_at)),
            id: o.id,
            name: o.name,
        })
        .collect();
    render(
        state,
        status,
        &ListPage {
            a: admin.ctx(state, "orgs"),
            rows,
            notice,
            error,
            v,
        },
    )
}

pub async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let notice = match q.get("notice").map(String::as_str) {
        Some("deleted") => Some("Organization deleted; its members keep their accounts.".into()),
        _ => None,
    };
    list_page(
        &state,
        &admin,
        StatusCode::OK,
        notice,
        None,
        Draft::default(),
    )
    .await
}

pub async fn create(State(state): State<SharedState>, f: Submitted) -> Response {
    let input = OrgInput {
        id: f.get("id").trim().to_owned(),
        name: f.get("name"),
        ..OrgInput::default()
    };
    match orgs::create_org(&state, &f.admin.actor, input).await {
        Ok(o) => to_org(&state, &o.id, "created"),
        Err(e) if e.field().is_some() => {
            let v = Draft {
                id: f.get("id"),
                name: f.get("name"),
            };
            list_page(
                &state,
                &f.admin,
                StatusCode::BAD_REQUEST,
                None,
                Some(e.message()),
                v,
            )
            .await
        }
        Err(e) => error(&state, e),
    }
}

async fn detail_page(
    state: &AppState,
    admin: &super::layout::AdminSession,
    id: &str,
    status: StatusCode,
    notice: Option<String>,
    error_text: Option<String>,
) -> Response {
    let o = match orgs::show_org(state, id).await {
        Ok(o) => o,
        Err(e) => return error(state, e),
    };
    render(
        state,
        status,
        &DetailPage {
            a: admin.ctx(state, "orgs"),
            connections: o.connection_ids.join(", "),
            created: when(Some(o.created_at)),
            verified_at: o.domains.iter().map(|d| when(d.verified_at)).collect(),
            o,
            notice,
            error: error_text,
        },
    )
}

pub async fn detail(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let notice = q.get("notice").and_then(|n| {
        Some(match n.as_str() {
            "created" => "Organization added. Claim its email domains below.",
            "saved" => "Saved.",
            "domain-added" => "Domain claimed. Publish the TXT record below, then check it.",
            "domain-verified" => "Domain verified: its people now sign in through this organization.",
            "domain-removed" => "Domain removed.",
            "disabled" => "Organization deactivated: its members' sessions ended and their grants are revoked.",
            "enabled" => "Organization active again.",
            _ => return None,
        })
    });
    detail_page(
        &state,
        &admin,
        &id,
        StatusCode::OK,
        notice.map(str::to_owned),
        None,
    )
    .await
}

/// Runs a change; a refusal the operator can fix (a field) is shown on the
/// organization's page, anything else as the dashboard's error page.
async fn then_back<T>(
    state: &AppState,
    f: &Submitted,
    id: &str,
    done: &str,
    result: Result<T, authgate_authority::manage::AdminError>,
) -> Response {
    match result {
        Ok(_) => to_org(state, id, done),
        Err(e) if e.field().is_some() => {
            detail_page(
                state,
                &f.admin,
                id,
                StatusCode::BAD_REQUEST,
                None,
                Some(e.message()),
            )
            .await
        }
        Err(e) => error(state, e),
    }
}

pub async fn edit(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let input = OrgInput {
        id: id.clone(),
        name: f.get("name"),
        connection_ids: f
            .get("connections")
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        forbid_local_passwords: f.checked("forbid_local_passwords"),
        require_mfa: f.checked("require_mfa"),
    };
    let r = orgs::update_org(&state, &f.admin.actor, &id, input).await;
    then_back(&state, &f, &id, "saved", r).await
}

pub async fn add_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = orgs::add_domain(&state, &f.admin.actor, &id, &f.get("domain")).await;
    then_back(&state, &f, &id, "domain-added", r).await
}

pub async fn verify_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = match HickoryResolver::system() {
        Ok(resolver) => {
            orgs::verify_domain(&state, &f.admin.actor, &resolver, &id, &f.get("domain")).await
        }
        Err(e) => Err(authgate_authority::manage::AdminError::invalid(
            "domain",
            format!("no DNS resolver on this machine: {e}"),
        )),
    };
    then_back(&state, &f, &id, "domain-verified", r).await
}

pub async fn mark_domain_verified(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = orgs::mark_domain_verified(&state, &f.admin.actor, &id, &f.get("domain")).await;
    then_back(&state, &f, &id, "domain-verified", r).await
}

pub async fn remove_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = orgs::remove_domain(&state, &f.admin.actor, &id, &f.get("domain")).await;
    then_back(&state, &f, &id, "domain-removed", r).await
}

pub async fn disable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = orgs::set_org_disabled(&state, &f.admin.actor, &id, true).await;
    then_back(&state, &f, &id, "disabled", r).await
}

pub async fn enable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = orgs::set_org_disabled(&state, &f.admin.actor, &id, false).await;
    then_back(&state, &f, &id, "enabled", r).await
}

pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    match orgs::delete_org(&state, &f.admin.actor, &id).await {
        Ok(()) => to_list(&state, "deleted"),
        Err(e) => error(&state, e),
    }
}
