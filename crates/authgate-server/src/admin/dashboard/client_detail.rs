//! One client (`/admin/clients/view?client_id=`; a query because ids of
//! metadata-document clients are URLs): what it registered, what it may
//! reach, its recent events, and the list's actions.

use super::admin_page::AdminPage;
use super::audit::{Row as EventRow, rows as event_rows};
use super::client_list::origin_label;
use super::display::{self, when};
use super::layout::{AdminCtx, error, render};
use crate::state::SharedState;
use askama::Template;
use authgate_authority::manage::types::client_source;
use authgate_authority::manage::{self, AdminError};
use authgate_core::model::{ANY_RESOURCE, ClientKind, TokenEndpointAuthMethod};
use authgate_store::AuditFilter;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

/// Events shown on the page (the audit log has the rest).
const EVENTS: i64 = 20;

#[derive(Template)]
#[template(path = "admin/client.html")]
struct DetailPage {
    a: AdminCtx,
    client_id: String,
    /// The id percent-encoded for a query string.
    q: String,
    name: String,
    origin: &'static str,
    source: String,
    blocked: bool,
    has_secret: bool,
    auth_method: &'static str,
    redirect_uris: Vec<String>,
    grant_types: String,
    resources: Vec<String>,
    scopes: String,
    created: String,
    last_used: String,
    rows: Vec<EventRow>,
}

pub async fn detail(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let id = params.get("client_id").cloned().unwrap_or_default();
    if id.is_empty() {
        return error(&state, AdminError::invalid("client_id", "is required"));
    }
    let c = match manage::get_client(&state, &id).await {
        Ok(c) => c,
        Err(e) => return error(&state, e),
    };
    let filter = AuditFilter {
        text: Some(id.clone()),
        ..AuditFilter::default()
    };
    let events = match state.store.find_audit_events(&filter, None, EVENTS).await {
        Ok(e) => e,
        Err(e) => return error(&state, e.into()),
    };
    let resources = if c.kind != ClientKind::PreRegistered && c.resources.is_empty() {
        vec!["those accepting its kind of registration".into()]
    } else {
        c.resources
            .iter()
            .map(|r| {
                if r == ANY_RESOURCE {
                    "every MCP server (not the admin API)".into()
                } else {
                    r.clone()
                }
            })
            .collect()
    };
    let page = DetailPage {
        a: admin.ctx(&state, "clients"),
        q: display::seg(&c.client_id),
        name: c.display_name().to_owned(),
        origin: origin_label(c.kind),
        source: client_source(&c),
        blocked: c.blocked,
        has_secret: matches!(
            c.metadata.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        ),
        auth_method: c.metadata.token_endpoint_auth_method.as_str(),
        redirect_uris: c.metadata.redirect_uris.clone(),
        grant_types: c.metadata.grant_types.join(", "),
        resources,
        scopes: c
            .allowed_scopes
            .as_ref()
            .map(|s| s.join(" "))
            .unwrap_or_else(|| "any the MCP server defines".into()),
        created: when(Some(c.created_at)),
        last_used: c
            .last_used_at
            .map(|t| when(Some(t)))
            .unwrap_or_else(|| "never".into()),
        rows: event_rows(&state, events).await,
        client_id: c.client_id,
    };
    render(&state, StatusCode::OK, &page)
}
