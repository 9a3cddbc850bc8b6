//! The audit log: search and pages (newest first).

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::layout::{AdminCtx, error, render};
use crate::state::SharedState;
use askama::Template;
use authgate_authority::manage::{self, AdminError};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

const PAGE: i64 = 50;

pub struct Row {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub actor: String,
    pub client_id: String,
    pub resource_id: String,
    pub address: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct ListPage {
    a: AdminCtx,
    q: String,
    rows: Vec<Row>,
    /// Link to the next (older) page.
    older: Option<String>,
    newest: Option<String>,
}

pub async fn list(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let q: String = params
        .get("q")
        .map(|s| s.trim().chars().take(200).collect())
        .unwrap_or_default();
    let before = match params
        .get("before")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(b) => match b.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => return error(&state, AdminError::invalid("before", "must be an event id")),
        },
    };
    let page = match manage::audit_page(&state, Some(&q), before, PAGE).await {
        Ok(p) => p,
        Err(e) => return error(&state, e),
    };
    let qs = display::seg(&q);
    let older = page
        .next_before
        .map(|b| format!("{base}/admin/audit?q={qs}&before={b}"));
    let newest = before.map(|_| format!("{base}/admin/audit?q={qs}"));
    let rows = page
        .items
        .into_iter()
        .map(|e| Row {
            id: e.id,
            at: when(Some(e.at)),
            event: e.event,
            actor: e.actor.unwrap_or_default(),
            client_id: e.client_id.unwrap_or_default(),
            resource_id: e.resource_id.unwrap_or_default(),
            address: e.address.unwrap_or_default(),
            outcome: e.outcome,
            detail: if e.detail.is_null() {
                String::new()
            } else {
                e.detail.to_string()
            },
        })
        .collect();
    render(
        &state,
        StatusCode::OK,
        &ListPage {
            a: admin.ctx(&state, "audit"),
            q,
            rows,
            older,
            newest,
        },
    )
}
