//! People: list (search, role and status filters, pages), add (they set
//! their password through a one-time link), edit, change the role, disable
//! or enable, delete, sign out everywhere, a password link, and what they
//! allowed (revocable). Auditors see the pages without their forms; every
//! post is the administrators' (`Submitted`), and those that touch a
//! person's access ask for the password again when the sign-in is old.

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, AdminSession, error, failure, render};
use super::reauth::{Reauthenticated, SensitiveAction};
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::manage::types::{
    AppView, OneTimeLink, RevokeInput, UserEdit, UserFilter, UserInput, UserList,
};
use authgate_authority::manage::{self, AdminError, roles};
use authgate_core::model::{Role, User};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

/// People on one page of the list.
const PAGE_SIZE: usize = 50;

pub struct Row {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created: String,
}

pub struct AddValues {
    pub email: String,
    pub name: String,
    pub role: &'static str,
}

impl Default for AddValues {
    fn default() -> Self {
        Self {
            email: String::new(),
            name: String::new(),
            role: Role::User.as_str(),
        }
    }
}

/// The list's search and filters, as the query string carries them.
#[derive(Default)]
pub struct Filters {
    pub q: String,
    /// `user`, `auditor`, `admin` or empty (any).
    pub role: String,
    /// `active`, `disabled` or empty (any).
    pub status: String,
    pub offset: usize,
}

impl Filters {
    fn from_query(q: &HashMap<String, String>) -> Self {
        let get = |k: &str| q.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
        Self {
            q: get("q"),
            role: Role::parse(&get("role"))
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            status: match get("status").as_str() {
                s @ ("active" | "disabled") => s.to_owned(),
                _ => String::new(),
            },
            offset: get("offset").parse().unwrap_or(0),
        }
    }

    fn filter(&self) -> UserFilter {
        UserFilter {
            text: Some(self.q.clone()),
            role: Role::parse(&self.role),
            disabled: match self.status.as_str() {
                "active" => Some(false),
                "disabled" => Some(true),
                _ => None,
            },
        }
    }

    /// The list's URL with these filters at `offset`.
    fn link(&self, base: &str, offset: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", self.q.as_str()),
            ("role", &self.role),
            ("status", &self.status),
        ] {
            if !v.is_empty() {
                query.append_pair(k, v);
            }
        }
        if offset > 0 {
            query.append_pair("offset", &offset.to_string());
        }
        let query = query.finish();
        let sep = if query.is_empty() { "" } else { "?" };
        format!("{base}/admin/users{sep}{query}")
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    a: AdminCtx,
    rows: Vec<Row>,
    f: Filters,
    /// "41–50 of 73".
    shown: String,
    prev: Option<String>,
    next: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
    v: AddValues,
    /// (email, link, expiry) to hand over.
    link: Option<(String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
    error_field: String,
}

/// What the list page shows besides its rows.
#[derive(Default)]
struct ListExtras {
    v: AddValues,
    link: Option<(String, String, String)>,
    notice: Option<String>,
    err: Option<AdminError>,
}

async fn list_page(
    state: &AppState,
    admin: &AdminSession,
    status: StatusCode,
    f: Filters,
    x: ListExtras,
) -> Response {
    let list: UserList = match manage::list_users(state, f.filter(), f.offset, PAGE_SIZE).await {
        Ok(l) => l,
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => return failure(state, e),
        Err(e) => return error(state, e),
    };
    let base = state.settings.issuer_path();
    let rows = list
        .items
        .iter()
        .map(|u| Row {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone().unwrap_or_default(),
            role: roles::label(u.role),
            disabled: u.disabled,
            created: when(Some(u.created_at)),
        })
        .collect::<Vec<_>>();
    let shown = if rows.is_empty() {
        format!("none of {}", list.total)
    } else {
        format!(
            "{}–{} of {}",
            f.offset + 1,
            f.offset + rows.len(),
            list.total
        )
    };
    let prev = (f.offset > 0).then(|| f.link(base, f.offset.saturating_sub(PAGE_SIZE)));
    let next = list.next_offset.map(|o| f.link(base, o));
    let error_field = x
        .err
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
            f,
            shown,
            prev,
            next,
            roles: Role::ALL
                .into_iter()
                .map(|r| (r.as_str(), roles::label(r)))
                .collect(),
            v: x.v,
            link: x.link,
            notice: x.notice,
            error: x.err.map(|e| e.message()),
            error_field,
        },
    )
}

pub async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let notice = match q.get("notice").map(String::as_str) {
        Some("deleted") => Some("Person deleted, with their sessions, consents and grants.".into()),
        _ => None,
    };
    let x = ListExtras {
        notice,
        ..Default::default()
    };
    list_page(&state, &admin, StatusCode::OK, Filters::from_query(&q), x).await
}

/// Adding a person is not sensitive; adding an administrator or an
/// auditor is.
pub struct AddPerson;

impl SensitiveAction for AddPerson {
    const WHAT: &'static str = "Adding an administrator or auditor";
    const FORM_ON_ACTION_PAGE: bool = true;
    fn applies(form: &Submitted) -> bool {
        !matches!(added_role(form), Ok(Role::User))
    }
}

/// The role the add form asks for: a person when it names none.
fn added_role(f: &Submitted) -> Result<Role, AdminError> {
    if f.get("role").is_empty() {
        return Ok(Role::User);
    }
    role_field(f)
}

/// The role a form names, or why not.
fn role_field(f: &Submitted) -> Result<Role, AdminError> {
    let r = f.get("role");
    Role::parse(&r)
        .ok_or_else(|| AdminError::invalid("role", format!("{r:?} is not user, auditor or admin")))
}

pub async fn create(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<AddPerson>,
) -> Response {
    let role = added_role(&f);
    let v = AddValues {
        email: f.get("email").trim().to_owned(),
        name: f.get("name").trim().to_owned(),
        role: role.as_ref().map_or(Role::User, |r| *r).as_str(),
    };
    let result = match role {
        Ok(role) => {
            let input = UserInput {
                email: v.email.clone(),
                name: (!v.name.is_empty()).then(|| v.name.clone()),
                role,
                password: None,
                email_verified: false,
            };
            manage::create_user(&state, &f.admin.actor, input).await
        }
        Err(e) => Err(e),
    };
    let filters = Filters::default();
    match result {
        Ok((u, link)) => {
            let x = ListExtras {
                link: link.map(|l| (u.email, l.url, when(Some(l.expires_at)))),
                ..Default::default()
            };
            list_page(&state, &f.admin, StatusCode::OK, filters, x).await
        }
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => failure(&state, e),
        Err(e) => {
            let x = ListExtras {
                v,
                err: Some(e),
                ..Default::default()
            };
            list_page(&state, &f.admin, StatusCode::BAD_REQUEST, filters, x).await
        }
    }
}

/// Inviting a person (role `user`) is not sensitive.
pub struct InvitePerson;

impl SensitiveAction for InvitePerson {
    const WHAT: &'static str = "Inviting a person";
    const FORM_ON_ACTION_PAGE: bool = true;
    fn applies(_: &Submitted) -> bool {
        false
    }
}

/// "Invite by mail": `mail::invite` (the link goes only by mail).
pub async fn invite(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<InvitePerson>,
) -> Response {
    let input = authgate_authority::manage::types::InvitationInput {
        email: f.get("email").trim().to_owned(),
        name: Some(f.get("name").trim().to_owned()).filter(|n| !n.is_empty()),
    };
    let filters = Filters::default();
    match crate::mail::invite(&state, &f.admin.actor, input).await {
        Ok(sent) => {
            let x = ListExtras {
                notice: Some(format!(
                    "Invitation mailed to {}; the link works once, until {} UTC.",
                    sent.user.email,
                    when(Some(sent.expires_at))
                )),
                ..Default::default()
            };
            list_page(&state, &f.admin, StatusCode::OK, filters, x).await
        }
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => failure(&state, e),
        Err(e) => {
            let x = ListExtras {
                v: AddValues {
                    email: f.get("email").trim().to_owned(),
                    name: f.get("name").trim().to_owned(),
                    ..Default::default()
                },
                err: Some(e),
                ..Default::default()
            };
            list_page(&state, &f.admin, StatusCode::BAD_REQUEST, filters, x).await
        }
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
    role: &'static str,
    roles: Vec<(&'static str, &'static str)>,
    /// The page is the viewer's own account (no delete or disable).
    own: bool,
    created: String,
    apps: Vec<AppRow>,
    link: Option<OneTimeLink>,
    notice: Option<String>,
    error: Option<String>,
    error_field: String,
}

async fn detail_page(
    state: &AppState,
    admin: &AdminSession,
    id: &str,
    status: StatusCode,
    link: Option<OneTimeLink>,
    notice: Option<String>,
    err: Option<AdminError>,
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
        status,
        &DetailPage {
            a: admin.ctx(state, "users"),
            created: when(Some(u.created_at)),
            role: roles::label(u.role),
            roles: Role::ALL
                .into_iter()
                .map(|r| (r.as_str(), roles::label(r)))
                .collect(),
            own: admin.user.id == u.id,
            u,
            apps: apps.into_iter().map(AppRow::from).collect(),
            link,
            notice,
            error_field: err
                .as_ref()
                .and_then(|e| e.field())
                .unwrap_or("")
                .to_owned(),
            error: err.map(|e| e.message()),
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
        Some("disabled") => {
            Some("Account disabled: their sessions ended and their grants are revoked.".into())
        }
        Some("enabled") => Some("Account enabled.".into()),
        Some("updated") => Some("Saved.".into()),
        Some("role") => Some("Role changed.".into()),
        Some("signed-out") => {
            Some("Signed out everywhere: every session ended and every grant is revoked.".into())
        }
        _ => None,
    };
    detail_page(&state, &admin, &id, StatusCode::OK, None, notice, None).await
}

/// To the person's page with a notice.
fn to_person(state: &AppState, id: &str, notice: &str) -> Response {
    page::see_other(&format!(
        "{}/admin/users/{}?notice={notice}",
        state.settings.issuer_path(),
        display::seg(id),
    ))
}

/// The person's page again with the error of a form on it, or the error
/// page when it is not the form's fault.
async fn form_error(state: &AppState, f: &Submitted, id: &str, e: AdminError) -> Response {
    match e {
        AdminError::Invalid { .. } | AdminError::Conflict { .. } => {
            detail_page(
                state,
                &f.admin,
                id,
                StatusCode::BAD_REQUEST,
                None,
                None,
                Some(e),
            )
            .await
        }
        e => error(state, e),
    }
}

/// Sensitive actions on a person: each asks for the password again when
/// the administrator's sign-in is old (they may touch an administrator).
macro_rules! sensitive {
    ($name:ident, $what:literal) => {
        pub struct $name;
        impl SensitiveAction for $name {
            const WHAT: &'static str = $what;
        }
    };
}

sensitive!(DisablePerson, "Disabling a person (administrators too)");
sensitive!(EnablePerson, "Enabling a person (administrators too)");
sensitive!(EditPerson, "Changing a person's email or name");
sensitive!(ChangeRole, "Changing a person's role");
sensitive!(DeletePerson, "Deleting a person");
sensitive!(SignOutPerson, "Signing a person out everywhere");
sensitive!(
    MakePasswordLink,
    "Making a password link (it lets whoever opens it set the password)"
);

async fn set_disabled(state: &AppState, f: Submitted, id: String, disabled: bool) -> Response {
    match manage::set_user_disabled(state, &f.admin.actor, &id, disabled).await {
        Ok(_) => to_person(state, &id, if disabled { "disabled" } else { "enabled" }),
        Err(e) => form_error(state, &f, &id, e).await,
    }
}

pub async fn disable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<DisablePerson>,
) -> Response {
    set_disabled(&state, f, id, true).await
}

pub async fn enable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<EnablePerson>,
) -> Response {
    set_disabled(&state, f, id, false).await
}

pub async fn edit(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<EditPerson>,
) -> Response {
    let edit = UserEdit {
        email: Some(f.get("email")),
        name: Some(f.get("name")),
    };
    match manage::update_user(&state, &f.admin.actor, &id, edit).await {
        Ok(_) => to_person(&state, &id, "updated"),
        Err(e) => form_error(&state, &f, &id, e).await,
    }
}

pub async fn set_role(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<ChangeRole>,
) -> Response {
    let result = match role_field(&f) {
        Ok(role) => manage::set_user_role(&state, &f.admin.actor, &id, role).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => to_person(&state, &id, "role"),
        Err(e) => form_error(&state, &f, &id, e).await,
    }
}

pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<DeletePerson>,
) -> Response {
    match manage::delete_user(&state, &f.admin.actor, &id).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/users?notice=deleted",
            state.settings.issuer_path()
        )),
        Err(e) => form_error(&state, &f, &id, e).await,
    }
}

pub async fn sign_out(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<SignOutPerson>,
) -> Response {
    let own = f.admin.user.id == id;
    match manage::sign_out_everywhere(&state, &f.admin.actor, &id).await {
        // Their own sessions ended too: to sign in again.
        Ok(_) if own => page::see_other(&format!("{}/login", state.settings.issuer_path())),
        Ok(_) => to_person(&state, &id, "signed-out"),
        Err(e) => form_error(&state, &f, &id, e).await,
    }
}

pub async fn password_link(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Reauthenticated { form: f, .. }: Reauthenticated<MakePasswordLink>,
) -> Response {
    match manage::password_link(&state, &f.admin.actor, &id).await {
        Ok(link) => {
            detail_page(
                &state,
                &f.admin,
                &id,
                StatusCode::OK,
                Some(link),
                None,
                None,
            )
            .await
        }
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
        Ok(_) => to_person(&state, &id, "revoked"),
        Err(e) => error(&state, e),
    }
}
