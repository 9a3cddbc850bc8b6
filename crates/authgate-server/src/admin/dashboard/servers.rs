//! MCP servers: list, add, edit, delete (with what it revokes), the detail
//! page with what to publish, and the connection check.

use super::admin_page::{AdminPage, Home};
use super::display::{self, duration};
use super::form::Submitted;
use super::layout::{AdminCtx, error, failure, render};
use crate::pages::page;
use crate::state::SharedState;
use askama::Template;
use authgate_authority::manage::types::{
    CheckReport, ResourceInput, ResourceMetadataView, ScopeDto,
};
use authgate_authority::manage::{self, AdminError};
use authgate_core::model::Resource;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

pub struct Row {
    pub id: String,
    pub name: String,
    pub uri: String,
    pub scopes: String,
    pub dcr: bool,
    pub cimd: bool,
    pub builtin: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "admin/servers.html")]
struct ListPage {
    a: AdminCtx,
    /// The MCP servers to deploy and publish.
    rows: Vec<Row>,
    /// Served by authgate itself (the admin API): shown apart.
    builtin_rows: Vec<Row>,
    notice: Option<String>,
}

fn notice(q: &HashMap<String, String>) -> Option<String> {
    let n = match q.get("notice").map(String::as_str) {
        Some("deleted") => "MCP server deleted; its grants and consents were revoked.",
        Some("created") => "MCP server added.",
        Some("updated") => "Changes saved.",
        _ => return None,
    };
    Some(n.into())
}

pub async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage<Home>,
) -> Response {
    let list = match state.store.list_resources().await {
        Ok(l) => l,
        Err(e) => return failure(&state, e),
    };
    let (builtin_rows, rows): (Vec<Row>, Vec<Row>) = list
        .iter()
        .map(|r| Row {
            id: r.id.clone(),
            name: r.name.clone(),
            uri: r.uri.clone(),
            scopes: r
                .scopes
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            dcr: r.allow_dynamic_registration,
            cimd: r.allow_client_id_metadata_documents,
            builtin: authgate_authority::builtin::is_builtin(&r.id),
            updated: display::when(Some(r.updated_at)),
        })
        .partition(|r| r.builtin);
    render(
        &state,
        StatusCode::OK,
        &ListPage {
            a: admin.ctx(&state, "servers"),
            rows,
            builtin_rows,
            notice: notice(&q),
        },
    )
}

/// One row of the scopes table in the form.
pub struct ScopeRow {
    pub name: String,
    pub description: String,
    pub implies: String,
    pub default: bool,
}

/// The form's values as typed (re-shown after an error).
pub struct FormValues {
    pub id: String,
    pub name: String,
    pub uri: String,
    pub scopes: Vec<ScopeRow>,
    pub dcr: bool,
    pub cimd: bool,
    /// `allow_dynamic_client_credentials`.
    pub dyn_cc: bool,
    pub access_ttl: String,
    pub refresh_idle_ttl: String,
    pub refresh_absolute_ttl: String,
    pub documentation_uri: String,
    pub logo_uri: String,
    /// `inherit`, `open` or `closed`.
    pub signup: String,
}

impl FormValues {
    fn blank() -> Self {
        let mut v = Self {
            id: String::new(),
            name: String::new(),
            uri: String::new(),
            scopes: vec![],
            dcr: true,
            cimd: true,
            dyn_cc: false,
            access_ttl: Resource::DEFAULT_ACCESS_TOKEN_TTL.to_string(),
            refresh_idle_ttl: Resource::DEFAULT_REFRESH_IDLE_TTL.to_string(),
            refresh_absolute_ttl: Resource::DEFAULT_REFRESH_ABSOLUTE_TTL.to_string(),
            documentation_uri: String::new(),
            logo_uri: String::new(),
            signup: "inherit".into(),
        };
        v.pad();
        v
    }

    fn from_resource(r: &Resource) -> Self {
        let mut v = Self {
            id: r.id.clone(),
            name: r.name.clone(),
            uri: r.uri.clone(),
            scopes: r
                .scopes
                .iter()
                .map(|s| ScopeRow {
                    name: s.name.clone(),
                    description: s.description.clone(),
                    implies: s.implies.join(" "),
                    default: r.default_scopes.contains(&s.name),
                })
                .collect(),
            dcr: r.allow_dynamic_registration,
            cimd: r.allow_client_id_metadata_documents,
            dyn_cc: r.allow_dynamic_client_credentials,
            access_ttl: r.access_token_ttl_secs.to_string(),
            refresh_idle_ttl: r.refresh_token_idle_ttl_secs.to_string(),
            refresh_absolute_ttl: r.refresh_token_absolute_ttl_secs.to_string(),
            documentation_uri: r.documentation_uri.clone().unwrap_or_default(),
            logo_uri: r.logo_uri.clone().unwrap_or_default(),
            signup: r.signup.as_str().into(),
        };
        v.pad();
        v
    }

    fn from_form(f: &Submitted) -> Self {
        let names = f.all("scope_name");
        let descs = f.all("scope_description");
        let implies = f.all("scope_implies");
        let defaults = f.all("scope_default");
        let scopes = names
            .iter()
            .enumerate()
            .map(|(i, n)| ScopeRow {
                name: n.trim().to_owned(),
                description: descs
                    .get(i)
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default(),
                implies: implies
                    .get(i)
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default(),
                default: defaults.iter().any(|d| d == &i.to_string()),
            })
            .collect();
        let mut v = Self {
            id: f.get("id").trim().to_owned(),
            name: f.get("name"),
            uri: f.get("uri").trim().to_owned(),
            scopes,
            dcr: f.checked("allow_dynamic_registration"),
            cimd: f.checked("allow_client_id_metadata_documents"),
            dyn_cc: f.checked("allow_dynamic_client_credentials"),
            access_ttl: f.get("access_token_ttl_secs").trim().to_owned(),
            refresh_idle_ttl: f.get("refresh_token_idle_ttl_secs").trim().to_owned(),
            refresh_absolute_ttl: f.get("refresh_token_absolute_ttl_secs").trim().to_owned(),
            documentation_uri: f.get("documentation_uri").trim().to_owned(),
            logo_uri: f.get("logo_uri").trim().to_owned(),
            signup: f.get("signup").trim().to_owned(),
        };
        v.pad();
        v
    }

    /// At least two empty rows to add scopes, and at least four rows.
    fn pad(&mut self) {
        self.scopes
            .retain(|s| !(s.name.is_empty() && s.description.is_empty() && s.implies.is_empty()));
        let n = (self.scopes.len() + 2).max(4);
        while self.scopes.len() < n {
            self.scopes.push(ScopeRow {
                name: String::new(),
                description: String::new(),
                implies: String::new(),
                default: false,
            });
        }
    }

    fn to_input(&self) -> Result<ResourceInput, AdminError> {
        let ttl = |field: &str, v: &str| -> Result<Option<i64>, AdminError> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<i64>()
                .map(Some)
                .map_err(|_| AdminError::invalid(field, "must be a number of seconds"))
        };
        let mut scopes = Vec::new();
        for s in &self.scopes {
            if s.name.is_empty() {
                if !s.description.is_empty() || !s.implies.is_empty() {
                    return Err(AdminError::invalid(
                        "scopes",
                        "a scope row has a description but no name",
                    ));
                }
                continue;
            }
            scopes.push(ScopeDto {
                name: s.name.clone(),
                description: s.description.clone(),
                implies: s.implies.split_whitespace().map(str::to_owned).collect(),
            });
        }
        Ok(ResourceInput {
            id: (!self.id.is_empty()).then(|| self.id.clone()),
            name: self.name.clone(),
            uri: self.uri.clone(),
            default_scopes: self
                .scopes
                .iter()
                .filter(|s| s.default && !s.name.is_empty())
                .map(|s| s.name.clone())
                .collect(),
            scopes,
            access_token_ttl_secs: ttl("access_token_ttl_secs", &self.access_ttl)?,
            refresh_token_idle_ttl_secs: ttl(
                "refresh_token_idle_ttl_secs",
                &self.refresh_idle_ttl,
            )?,
            refresh_token_absolute_ttl_secs: ttl(
                "refresh_token_absolute_ttl_secs",
                &self.refresh_absolute_ttl,
            )?,
            allow_dynamic_registration: self.dcr,
            allow_client_id_metadata_documents: self.cimd,
            allow_dynamic_client_credentials: self.dyn_cc,
            documentation_uri: (!self.documentation_uri.is_empty())
                .then(|| self.documentation_uri.clone()),
            logo_uri: (!self.logo_uri.is_empty()).then(|| self.logo_uri.clone()),
            signup: if self.signup.is_empty() {
                Default::default()
            } else {
                authgate_core::model::SignupPolicy::parse(&self.signup).ok_or_else(|| {
                    AdminError::invalid("signup", "must be one of inherit, open, closed")
                })?
            },
        })
    }
}

#[derive(Template)]
#[template(path = "admin/server_form.html")]
struct FormPage {
    a: AdminCtx,
    editing: bool,
    action: String,
    v: FormValues,
    error: Option<String>,
    error_field: String,
}

fn form_page(
    state: &crate::state::AppState,
    a: AdminCtx,
    editing: bool,
    action: String,
    v: FormValues,
    err: Option<AdminError>,
) -> Response {
    let status = if err.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let error_field = err
        .as_ref()
        .and_then(|e| e.field())
        .unwrap_or("")
        .to_owned();
    render(
        state,
        status,
        &FormPage {
            a,
            editing,
            action,
            v,
            error: err.map(|e| e.message()),
            error_field,
        },
    )
}

pub async fn new_form(
    State(state): State<SharedState>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    form_page(
        &state,
        admin.ctx(&state, "servers"),
        false,
        format!("{base}/admin/servers"),
        FormValues::blank(),
        None,
    )
}

pub async fn create(State(state): State<SharedState>, f: Submitted) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let v = FormValues::from_form(&f);
    let result = match v.to_input() {
        Ok(input) => manage::create_resource(&state, &f.admin.actor, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => page::see_other(&format!("{base}/admin/servers/{}?notice=created", r.id)),
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => failure(&state, e),
        Err(e) => form_page(
            &state,
            f.admin.ctx(&state, "servers"),
            false,
            format!("{base}/admin/servers"),
            v,
            Some(e),
        ),
    }
}

pub async fn edit_form(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let here = format!(
        "{}/admin/servers/{}/edit",
        state.settings.issuer_path(),
        display::seg(&id)
    );
    let r = match manage::get_resource(&state, &id).await {
        Ok(r) => r,
        Err(e) => return error(&state, e),
    };
    form_page(
        &state,
        admin.ctx(&state, "servers"),
        true,
        here,
        FormValues::from_resource(&r),
        None,
    )
}

pub async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let mut v = FormValues::from_form(&f);
    v.id = id.clone();
    let result = match v.to_input() {
        Ok(input) => manage::update_resource(&state, &f.admin.actor, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => page::see_other(&format!("{base}/admin/servers/{}?notice=updated", r.id)),
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_) | AdminError::NotFound(_))) => {
            error(&state, e)
        }
        Err(e) => form_page(
            &state,
            f.admin.ctx(&state, "servers"),
            true,
            format!("{base}/admin/servers/{}/edit", display::seg(&id)),
            v,
            Some(e),
        ),
    }
}

pub struct ScopeLine {
    pub name: String,
    pub description: String,
    pub implies: String,
    pub default: bool,
}

#[derive(Template)]
#[template(path = "admin/server.html")]
struct DetailPage {
    a: AdminCtx,
    r: Resource,
    builtin: bool,
    scopes: Vec<ScopeLine>,
    lifetimes: String,
    meta: ResourceMetadataView,
    metadata_json: String,
    check: Option<CheckReport>,
    notice: Option<String>,
}

async fn detail_page(
    state: &crate::state::AppState,
    a: AdminCtx,
    id: &str,
    check: Option<CheckReport>,
    notice: Option<String>,
) -> Response {
    let r = match manage::get_resource(state, id).await {
        Ok(r) => r,
        Err(e) => return error(state, e),
    };
    let meta = manage::resource_metadata(state, &r);
    let metadata_json = serde_json::to_string_pretty(&meta.metadata).unwrap_or_default();
    let scopes = r
        .scopes
        .iter()
        .map(|s| ScopeLine {
            name: s.name.clone(),
            description: s.description.clone(),
            implies: s.implies.join(", "),
            default: r.default_scopes.contains(&s.name),
        })
        .collect();
    let lifetimes = format!(
        "access token {}, refresh token {} idle / {} at most",
        duration(r.access_token_ttl_secs),
        duration(r.refresh_token_idle_ttl_secs),
        duration(r.refresh_token_absolute_ttl_secs)
    );
    render(
        state,
        StatusCode::OK,
        &DetailPage {
            a,
            builtin: authgate_authority::builtin::is_builtin(&r.id),
            r,
            scopes,
            lifetimes,
            meta,
            metadata_json,
            check,
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
    detail_page(&state, admin.ctx(&state, "servers"), &id, None, notice(&q)).await
}

pub async fn check(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let r = match manage::get_resource(&state, &id).await {
        Ok(r) => r,
        Err(e) => return error(&state, e),
    };
    let report = manage::check_resource(&state, &f.admin.actor, &r).await;
    detail_page(
        &state,
        f.admin.ctx(&state, "servers"),
        &id,
        Some(report),
        None,
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub a: AdminCtx,
    pub heading: String,
    pub intro: String,
    pub items: Vec<String>,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub button: String,
    pub cancel: String,
}

pub async fn delete_confirm(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let here = format!("{base}/admin/servers/{}/delete", display::seg(&id));
    if authgate_authority::builtin::is_builtin(&id) {
        return error(
            &state,
            AdminError::invalid(
                "id",
                "the admin API resource is built in and cannot be deleted",
            ),
        );
    }
    let (r, impact) = match (
        manage::get_resource(&state, &id).await,
        manage::resource_impact(&state, &id, false).await,
    ) {
        (Ok(r), Ok(i)) => (r, i),
        (Err(e), _) | (_, Err(e)) => return error(&state, e),
    };
    let mut items = vec![
        format!(
            "{} grant{} revoked: those apps lose their refresh tokens and must ask again.",
            impact.grants_revoked,
            if impact.grants_revoked == 1 { "" } else { "s" }
        ),
        format!(
            "{} consent{} removed.",
            impact.consents_removed,
            if impact.consents_removed == 1 {
                ""
            } else {
                "s"
            }
        ),
        format!(
            "Access tokens already issued stay valid at the MCP server until they expire (at most {}).",
            duration(impact.access_tokens_valid_for_at_most_secs)
        ),
        "authgate stops issuing tokens for it and its metadata is no longer listed.".to_string(),
    ];
    if !impact.clients_restricted.is_empty() {
        items.push(format!(
            "Clients limited to this server can no longer get tokens: {}.",
            impact.clients_restricted.join(", ")
        ));
    }
    render(
        &state,
        StatusCode::OK,
        &ConfirmPage {
            a: admin.ctx(&state, "servers"),
            heading: format!("Delete {}?", r.name),
            intro: format!("Deleting the MCP server {} ({}) revokes:", r.name, r.uri),
            items,
            action: here,
            hidden: vec![],
            button: "Delete MCP server".into(),
            cancel: format!("{base}/admin/servers/{}", display::seg(&id)),
        },
    )
}

pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    match manage::delete_resource(&state, &f.admin.actor, &id).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/servers?notice=deleted",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
