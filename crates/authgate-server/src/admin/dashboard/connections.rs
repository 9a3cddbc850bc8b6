//! Identity-provider connections in the dashboard (issue 19): the list, a
//! form to add one from a preset or any OpenID Connect issuer (the secret
//! is write-only and sealed at rest), and a connection's page with the
//! redirect URI to register upstream, enable/disable and delete. Every
//! change goes through `federation::manage`, like the API and the CLI.

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, AdminSession, error, failure, render};
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::federation::manage::{
    self as connections, ConnectionInput, ConnectionView, SamlInput,
};
use authgate_authority::federation::presets::PRESETS;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

/// What the add form had, shown again with its error (never the secret).
#[derive(Default)]
pub struct Draft {
    pub id: String,
    pub preset: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub domains: String,
    pub show_on_login: bool,
    pub idp_entity_id: String,
    pub sso_url: String,
}

#[derive(Template)]
#[template(path = "admin/connections.html")]
struct ListPage {
    a: AdminCtx,
    rows: Vec<ConnectionView>,
    presets: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
    v: Draft,
}

#[derive(Template)]
#[template(path = "admin/connection.html")]
struct DetailPage {
    a: AdminCtx,
    c: ConnectionView,
    /// The SAML settings' text fields.
    saml_fields: HashMap<&'static str, String>,
    client_id: String,
    issuer: String,
    scopes: String,
    domains: String,
    created: String,
    notice: Option<String>,
    error: Option<String>,
}

fn words(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl DetailPage {
    fn text(&self, k: &str) -> &str {
        self.saml_fields.get(k).map(String::as_str).unwrap_or("")
    }
}

/// The SAML part of a submitted form, when it is one (`kind=saml` on the
/// add form; a SAML connection's settings form).
fn saml_input(f: &Submitted) -> SamlInput {
    SamlInput {
        idp_entity_id: f.get("idp_entity_id").trim().to_owned(),
        sso_url: f.get("sso_url").trim().to_owned(),
        idp_certificates: optional(f.get("idp_certificate")).into_iter().collect(),
        subject_attribute: None,
        trust_email: false,
    }
}

fn to_connection(state: &AppState, id: &str, notice: &str) -> Response {
    page::see_other(&format!(
        "{}/admin/connections/{}?notice={notice}",
        state.settings.issuer_path(),
        display::seg(id)
    ))
}

async fn list_page(
    state: &AppState,
    admin: &AdminSession,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    v: Draft,
) -> Response {
    let rows = match connections::list_connections(state).await {
        Ok(r) => r,
        Err(e) => return failure(state, e),
    };
    render(
        state,
        status,
        &ListPage {
            a: admin.ctx(state, "connections"),
            rows,
            presets: PRESETS.iter().map(|p| (p.name, p.display_name)).collect(),
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
        Some("deleted") => Some("Connection deleted; its people keep their accounts.".into()),
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

fn optional(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

pub async fn create(State(state): State<SharedState>, f: Submitted) -> Response {
    let input = ConnectionInput {
        id: f.get("id").trim().to_owned(),
        preset: optional(f.get("preset")),
        display_name: optional(f.get("display_name")),
        issuer: optional(f.get("issuer")),
        client_id: f.get("client_id").trim().to_owned(),
        client_secret: optional(f.get("client_secret")),
        scopes: Vec::new(),
        token_endpoint_auth_method: optional(f.get("token_endpoint_auth_method")),
        client_key_alg: None,
        rotate_key: false,
        trusted_email_domains: words(&f.get("trusted_email_domains")),
        show_on_login: f.checked("show_on_login"),
        saml: (f.get("kind") == "saml").then(|| saml_input(&f)),
    };
    match connections::create_connection(&state, &f.admin.actor, input).await {
        Ok(c) => to_connection(&state, &c.id, "created"),
        Err(e) if e.field().is_some() => {
            let v = Draft {
                id: f.get("id"),
                preset: f.get("preset"),
                display_name: f.get("display_name"),
                issuer: f.get("issuer"),
                client_id: f.get("client_id"),
                domains: f.get("trusted_email_domains"),
                show_on_login: f.checked("show_on_login"),
                idp_entity_id: f.get("idp_entity_id"),
                sso_url: f.get("sso_url"),
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
    admin: &AdminSession,
    id: &str,
    status: StatusCode,
    notice: Option<String>,
    error_text: Option<String>,
) -> Response {
    let c = match connections::show_connection(state, id).await {
        Ok(c) => c,
        Err(e) => return error(state, e),
    };
    let text = |k: &str| {
        c.config
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let scopes = c
        .config
        .get("scopes")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    render(
        state,
        status,
        &DetailPage {
            a: admin.ctx(state, "connections"),
            issuer: text("issuer"),
            client_id: text("client_id"),
            scopes,
            domains: c.trusted_email_domains.join(", "),
            created: when(Some(c.created_at)),
            saml_fields: ["idp_entity_id", "sso_url"]
                .into_iter()
                .map(|k| (k, text(k)))
                .collect(),
            c,
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
            "created" => {
                "Connection added. Register the redirect URI (for SAML: the entity id and ACS URL) below at the identity provider."
            }
            "saved" => "Saved.",
            "disabled" => "Connection disabled: it signs nobody in.",
            "enabled" => "Connection enabled.",
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

pub async fn edit(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    let current = match connections::show_connection(&state, &id).await {
        Ok(c) => c,
        Err(e) => return error(&state, e),
    };
    let input = ConnectionInput {
        id: id.clone(),
        preset: current.preset.clone(),
        display_name: optional(f.get("display_name")),
        issuer: optional(f.get("issuer")),
        client_id: f.get("client_id").trim().to_owned(),
        // Empty keeps the stored secret (it is never shown).
        client_secret: optional(f.get("client_secret")),
        scopes: words(&f.get("scopes")),
        // Absent keeps the connection's method (and its key).
        token_endpoint_auth_method: None,
        client_key_alg: None,
        rotate_key: f.checked("rotate_key"),
        trusted_email_domains: words(&f.get("trusted_email_domains")),
        show_on_login: f.checked("show_on_login"),
        // The form does not show the subject attribute or trust_email:
        // they stay as stored (never reset by an edit of other fields).
        saml: (current.kind == "saml").then(|| SamlInput {
            subject_attribute: current
                .config
                .get("subject_attribute")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            trust_email: current
                .config
                .get("trust_email")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            ..saml_input(&f)
        }),
    };
    match connections::update_connection(&state, &f.admin.actor, &id, input).await {
        Ok(_) => to_connection(&state, &id, "saved"),
        Err(e) if e.field().is_some() => {
            detail_page(
                &state,
                &f.admin,
                &id,
                StatusCode::BAD_REQUEST,
                None,
                Some(e.message()),
            )
            .await
        }
        Err(e) => error(&state, e),
    }
}

pub async fn disable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    match connections::set_connection_disabled(&state, &f.admin.actor, &id, true).await {
        Ok(_) => to_connection(&state, &id, "disabled"),
        Err(e) => error(&state, e),
    }
}

pub async fn enable(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    match connections::set_connection_disabled(&state, &f.admin.actor, &id, false).await {
        Ok(_) => to_connection(&state, &id, "enabled"),
        Err(e) => error(&state, e),
    }
}

pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    f: Submitted,
) -> Response {
    match connections::delete_connection(&state, &f.admin.actor, &id).await {
        Ok(()) => page::see_other(&format!(
            "{}/admin/connections?notice=deleted",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
