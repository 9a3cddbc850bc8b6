//! Signing keys: list, rotate, retire.

use super::{AdminCtx, error, failure, render, require_admin, submitted, when};
use crate::app::SharedState;
use crate::http::form::FormPairs;
use crate::pages;
use askama::Template;
use authgate_authority::manage;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use std::net::SocketAddr;

type Peer = ConnectInfo<SocketAddr>;
type Form = Result<FormPairs, crate::http::error::ApiError>;

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
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("{}/admin/keys", state.settings.issuer_path());
    let admin = match require_admin(&state, &headers, &peer, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
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

pub async fn rotate(
    State(state): State<SharedState>,
    peer: Peer,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let f = match submitted(&state, &headers, &peer, form).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let base = state.settings.issuer_path();
    let f = match super::require_recent_password(
        &state,
        f,
        "Rotating the signing key",
        &format!("{base}/admin/keys/rotate"),
        &format!("{base}/admin/keys"),
    )
    .await
    {
        Ok(f) => f,
        Err(r) => return r,
    };
    match manage::rotate_key(&state, &f.admin.actor).await {
        Ok(_) => pages::see_other(&format!(
            "{}/admin/keys?notice=rotated",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}

pub async fn retire(
    State(state): State<SharedState>,
    peer: Peer,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let f = match submitted(&state, &headers, &peer, form).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let base = state.settings.issuer_path();
    let f = match super::require_recent_password(
        &state,
        f,
        "Retiring a signing key",
        &format!("{base}/admin/keys/retire"),
        &format!("{base}/admin/keys"),
    )
    .await
    {
        Ok(f) => f,
        Err(r) => return r,
    };
    match manage::retire_key(&state, &f.admin.actor, &f.get("kid")).await {
        Ok(_) => pages::see_other(&format!(
            "{}/admin/keys?notice=retired",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
