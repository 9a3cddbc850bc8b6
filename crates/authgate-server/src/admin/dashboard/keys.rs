//! Signing keys: list, rotate, retire.

use super::admin_page::AdminPage;
use super::display::when;
use super::layout::{AdminCtx, error, failure, render};
use super::reauth::{Reauthenticated, SensitiveAction};
use crate::pages::page;
use crate::state::SharedState;
use askama::Template;
use authgate_authority::manage;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

pub struct Row {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub created: String,
    pub retired: String,
    pub leaves: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct ListPage {
    a: AdminCtx,
    rows: Vec<Row>,
    notice: Option<String>,
}

pub async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let keys = match manage::list_keys(&state).await {
        Ok(k) => k,
        Err(e) => return failure(&state, e),
    };
    let rows = keys
        .into_iter()
        .map(|k| Row {
            created: when(Some(k.created_at)),
            retired: when(k.retired_at),
            leaves: when(k.remove_after),
            kid: k.kid,
            alg: k.alg,
            state: k.state,
        })
        .collect();
    let notice = match q.get("notice").map(String::as_str) {
        Some("rotated") => Some(
            "New signing key active; the previous one stays published until its tokens expire."
                .into(),
        ),
        Some("retired") => Some("Key retired: it is no longer published.".into()),
        _ => None,
    };
    render(
        &state,
        StatusCode::OK,
        &ListPage {
            a: admin.ctx(&state, "keys"),
            rows,
            notice,
        },
    )
}

pub struct RotateKey;

impl SensitiveAction for RotateKey {
    const WHAT: &'static str = "Rotating the signing key";
}

pub async fn rotate(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<RotateKey>,
) -> Response {
    match manage::rotate_key(&state, &f.admin.actor).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/keys?notice=rotated",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}

pub struct RetireKey;

impl SensitiveAction for RetireKey {
    const WHAT: &'static str = "Retiring a signing key";
}

pub async fn retire(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<RetireKey>,
) -> Response {
    match manage::retire_key(&state, &f.admin.actor, &f.get("kid")).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/keys?notice=retired",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
