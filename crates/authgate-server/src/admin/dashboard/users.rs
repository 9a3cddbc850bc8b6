//! People: list, add (they set their password through a one-time link),
//! disable or enable, a password link, and what they allowed (revocable).

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, AdminSession, error, failure, render};
use super::reauth::{Reauthenticated, SensitiveAction};
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::manage::types::{AppView, OneTimeLink, RevokeInput, UserInput};
use authgate_authority::manage::{self, AdminError};
use authgate_core::model::User;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

pub struct Row {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created: String,
}

#[derive(Default)]
pub struct AddValues {
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    a: AdminCtx,
    rows: Vec<Row>,
    v: AddValues,
    /// (email, link, expiry) to hand over.
    link: Option<(String, String, String)>,
    error: Option<String>,
    error_field: String,
}

async fn list_page(
    state: &AppState,
    admin: &AdminSession,
    status: StatusCode,
    v: AddValues,
    link: Option<(String, String, String)>,
    err: Option<AdminError>,
) -> Response {
    let users = match state.store.list_users().await {
        Ok(u) => u,
        Err(e) => return failure(state, e),
    };
    let rows = users
        .iter()
        .map(|u| Row {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone().unwrap_or_default(),
            is_admin: u.is_admin,
            disabled: u.disabled,
            created: when(Some(u.created_at)),
        })
        .collect();
    let error_field = err
        .as_ref()
        .and_then(|e| e.field())
        .unwrap_or("")
        .to_owned();
    render(
        state,
        status,
        &ListPage {
            a: admin.ctx(state, "users"),
            rows,
            v,
            link,
            error: err.map(|e| e.message()),
            error_field,
        },
    )
}

pub async fn list(
    State(state): State<SharedState>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    list_page(
        &state,
        &admin,
        StatusCode::OK,
        AddValues::default(),
        None,
        None,
    )
    .await
}

/// Adding a person is not sensitive; adding an administrator is.
pub struct AddAdministrator;

impl SensitiveAction for AddAdministrator {
    const WHAT: &'static str = "Adding an administrator";
    const ONLY_WHEN_CHECKED: Option<&'static str> = Some("is_admin");
    const FORM_ON_ACTION_PAGE: bool = true;
}

pub async fn create(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<AddAdministrator>,
) -> Response {
    let v = AddValues {
        email: f.get("email").trim().to_owned(),
        name: f.get("name").trim().to_owned(),
        is_admin: f.checked("is_admin"),
    };
    let input = UserInput {
        email: v.email.clone(),
        name: (!v.name.is_empty()).then(|| v.name.clone()),
        is_admin: v.is_admin,
        password: None,
    };
    match manage::create_user(&state, &f.admin.actor, input).await {
        Ok((u, link)) => {
            list_page(
                &state,
                &f.admin,
                StatusCode::OK,
                AddValues::default(),
                link.map(|l| (u.email, l.url, when(Some(l.expires_at)))),
                None,
            )
            .await
        }
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => failure(&state, e),
        Err(e) => list_page(&state, &f.admin, StatusCode::BAD_REQUEST, v, None, Some(e)).await,
    }
}

pub struct AppRow {
    pub client_id: String,
    pub client_name: String,
    pub resource_id: String,
    pub resource_name: String,
    pub scopes: String,
    pub since: String,
    pub last_used: String,
    pub grants: usize,
}

impl From<AppView> for AppRow {
    fn from(a: AppView) -> Self {
        let last = a.grants.iter().map(|g| g.last_used_at).max();
        Self {
            scopes: a
                .consented_scopes
                .clone()
                .unwrap_or_else(|| {
                    a.grants
                        .iter()
                        .flat_map(|g| g.scopes.clone())
                        .collect::<Vec<_>>()
                })
                .join(" "),
            since: when(
                a.consented_at
                    .or_else(|| a.grants.iter().map(|g| g.created_at).min()),
            ),
            last_used: last
                .map(|t| when(Some(t)))
                .unwrap_or_else(|| "never".into()),
            grants: a.grants.len(),
            client_id: a.client_id,
            client_name: a.client_name,
            resource_id: a.resource_id,
            resource_name: a.resource_name,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct DetailPage {
    a: AdminCtx,
    u: User,
    created: String,
    apps: Vec<AppRow>,
    link: Option<OneTimeLink>,
    notice: Option<String>,
}

async fn detail_page(
    state: &AppState,
    admin: &AdminSession,
    id: &str,
    link: Option<OneTimeLink>,
    notice: Option<String>,
) -> Response {
    let (u, apps) = match (
        manage::get_user(state, id).await,
        manage::user_apps(state, id).await,
    ) {
        (Ok(u), Ok(a)) => (u, a),
        (Err(e), _) | (_, Err(e)) => return error(state, e),
    };
    render(
        state,
        StatusCode::OK,
        &DetailPage {
            a: admin.ctx(state, "users"),
            created: when(Some(u.created_at)),
            u,
            apps: apps.into_iter().map(AppRow::from).collect(),
            link,
            notice,
        },
    )
}

pub async fn detail(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let notice = match q.get("notice").map(String::as_str) {
        Some("revoked") => Some("Access revoked: the consent and its grants are gone.".into()),
        Some("disabled") => Some("Account disabled.".into()),
        Some("enabled") => Some("Account enabled.".into()),
        _ => None,
    };
    detail_page(&state, &admin, &id, None, notice).await
}

async fn set_disabled(state: &AppState, f: Submitted, id: String, disabled: bool) -> Response {
    match manage::set_user_disabled(state, &f.admin.actor, &id, disabled).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/users/{}?notice={}",
            state.settings.issuer_path(),
            display::seg(&id),
            if disabled { "disabled" } else { "enabled" }
        )),
        Err(e) => error(state, e),
    }
}

pub struct DisablePerson;

impl SensitiveAction for DisablePerson {
    const WHAT: &'static str = "Disabling a person (administrators too)";
}

pub async fn disable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<DisablePerson>,
) -> Response {
    set_disabled(&state, f, id, true).await
}

pub struct EnablePerson;

impl SensitiveAction for EnablePerson {
    const WHAT: &'static str = "Enabling a person (administrators too)";
}

pub async fn enable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<EnablePerson>,
) -> Response {
    set_disabled(&state, f, id, false).await
}

pub struct MakePasswordLink;

impl SensitiveAction for MakePasswordLink {
    const WHAT: &'static str = "Making a password link (it lets whoever opens it set the password)";
}

pub async fn password_link(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<MakePasswordLink>,
) -> Response {
    match manage::password_link(&state, &f.admin.actor, &id).await {
        Ok(link) => detail_page(&state, &f.admin, &id, Some(link), None).await,
        Err(e) => error(&state, e),
    }
}

pub async fn revoke(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let input = RevokeInput {
        client_id: f.get("client_id"),
        resource_id: f.get("resource_id"),
    };
    match manage::revoke_app(&state, &f.admin.actor, &id, input).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/users/{}?notice=revoked",
            state.settings.issuer_path(),
            display::seg(&id)
        )),
        Err(e) => error(&state, e),
    }
}
