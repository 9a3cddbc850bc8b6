//! Clients: list (kind, source, created, last used), add a client (the
//! secret is shown once), rotate its secret, block, delete.

use super::admin_page::{AdminPage, ReturnTo};
use super::client_list::{ClientQuery, ORIGINS, PAGE, Pager, origin_label};
use super::display::{self, when};
use super::form::Submitted;
use super::layout::{AdminCtx, AdminSession, error, failure, render};
use super::reauth::{Reauthenticated, SensitiveAction};
use super::servers::ConfirmPage;
use crate::pages::page;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::manage::types::{ClientInput, client_source};
use authgate_authority::manage::{self, AdminError};
use authgate_core::model::{ANY_RESOURCE, Client, ClientKind, TokenEndpointAuthMethod};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use std::collections::HashMap;

pub struct Row {
    pub client_id: String,
    /// The id percent-encoded for a query string.
    pub q: String,
    pub name: String,
    pub kind: String,
    pub source: String,
    pub created: String,
    pub last_used: String,
    pub blocked: bool,
    pub has_secret: bool,
    pub resources: String,
}

pub struct ServerChoice {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// The add form's values as typed.
#[derive(Default)]
pub struct AddValues {
    pub client_name: String,
    pub client_id: String,
    pub confidential: bool,
    pub redirect_uris: String,
    pub scopes: String,
    pub grant_authorization_code: bool,
    pub grant_client_credentials: bool,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ListPage {
    a: AdminCtx,
    list: ClientQuery,
    /// (value, label, selected)
    origin_options: Vec<(&'static str, &'static str, bool)>,
    pager: Pager,
    rows: Vec<Row>,
    servers: Vec<ServerChoice>,
    /// The "every MCP server" box (`"*"`) was checked.
    any_checked: bool,
    v: AddValues,
    /// (client id, secret) to show once.
    secret: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    error_field: String,
}

/// What the list shows in the MCP servers column.
fn resources_label(c: &Client) -> String {
    if c.kind != ClientKind::PreRegistered && c.resources.is_empty() {
        return "those accepting its kind".into();
    }
    if c.resources.is_empty() {
        return "none".into();
    }
    c.resources
        .iter()
        .map(|r| {
            if r == ANY_RESOURCE {
                "every MCP server (not the admin API)"
            } else {
                r.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    admin: &AdminSession,
    list: ClientQuery,
    status: StatusCode,
    v: AddValues,
    chosen: &[String],
    secret: Option<(String, String)>,
    notice: Option<String>,
    err: Option<AdminError>,
) -> Response {
    let filter = match list.filter() {
        Ok(f) => f,
        Err(e) => return error(state, e),
    };
    let (found, resources) = match (
        state
            .store
            .list_clients_page(&filter, list.offset(), PAGE)
            .await,
        state.store.list_resources().await,
    ) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => return failure(state, e),
    };
    let pager = Pager::new(
        state.settings.issuer_path(),
        &list,
        found.items.len(),
        found.total,
    );
    let rows = found
        .items
        .iter()
        .map(|c| Row {
            client_id: c.client_id.clone(),
            q: display::seg(&c.client_id),
            name: c.display_name().to_owned(),
            kind: origin_label(c.kind).into(),
            source: client_source(c),
            created: when(Some(c.created_at)),
            last_used: c
                .last_used_at
                .map(|t| when(Some(t)))
                .unwrap_or_else(|| "never".into()),
            blocked: c.blocked,
            has_secret: matches!(
                c.metadata.token_endpoint_auth_method,
                TokenEndpointAuthMethod::ClientSecretBasic
                    | TokenEndpointAuthMethod::ClientSecretPost
            ),
            resources: resources_label(c),
        })
        .collect();
    let any_checked = chosen.iter().any(|r| r == ANY_RESOURCE);
    let servers = resources
        .iter()
        .map(|r| ServerChoice {
            id: r.id.clone(),
            name: r.name.clone(),
            checked: chosen.contains(&r.id),
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
            a: admin.ctx(state, "clients"),
            origin_options: ORIGINS
                .iter()
                .map(|(v, l, _)| (*v, *l, list.origin == *v))
                .collect(),
            list,
            pager,
            rows,
            servers,
            any_checked,
            v,
            secret,
            notice,
            error: err.map(|e| e.message()),
            error_field,
        },
    )
}

fn default_values() -> AddValues {
    AddValues {
        confidential: true,
        grant_client_credentials: true,
        ..Default::default()
    }
}

pub async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let notice = match q.get("notice").map(String::as_str) {
        Some("deleted") => Some("Client deleted; its grants and consents were revoked.".into()),
        Some("blocked") => Some("Client blocked.".into()),
        Some("unblocked") => Some("Client unblocked.".into()),
        _ => None,
    };
    let list = match ClientQuery::read(&q) {
        Ok(l) => l,
        Err(e) => return error(&state, e),
    };
    page(
        &state,
        &admin,
        list,
        StatusCode::OK,
        default_values(),
        &[],
        None,
        notice,
        None,
    )
    .await
}

impl AddValues {
    fn from_form(f: &Submitted) -> Self {
        Self {
            client_name: f.get("client_name").trim().to_owned(),
            client_id: f.get("client_id").trim().to_owned(),
            confidential: f.checked("confidential"),
            redirect_uris: f.get("redirect_uris"),
            scopes: f.get("scopes").trim().to_owned(),
            grant_authorization_code: f.checked("grant_authorization_code"),
            grant_client_credentials: f.checked("grant_client_credentials"),
        }
    }

    /// What to register: these values, allowed the MCP servers `chosen`.
    fn to_input(&self, chosen: &[String]) -> ClientInput {
        let mut grant_types = Vec::new();
        if self.grant_authorization_code {
            grant_types.extend([
                "authorization_code".to_string(),
                "refresh_token".to_string(),
            ]);
        }
        if self.grant_client_credentials {
            grant_types.push("client_credentials".to_string());
        }
        ClientInput {
            client_id: (!self.client_id.is_empty()).then(|| self.client_id.clone()),
            client_name: (!self.client_name.is_empty()).then(|| self.client_name.clone()),
            confidential: self.confidential,
            redirect_uris: self.redirect_uris.lines().map(str::to_owned).collect(),
            grant_types,
            resources: chosen.to_vec(),
            scopes: (!self.scopes.is_empty())
                .then(|| self.scopes.split_whitespace().map(str::to_owned).collect()),
        }
    }
}

/// A public client is not sensitive; one with a secret is.
pub struct AddClientWithSecret;

impl SensitiveAction for AddClientWithSecret {
    const WHAT: &'static str = "Registering a client with a secret";
    const ONLY_WHEN_CHECKED: Option<&'static str> = Some("confidential");
    const FORM_ON_ACTION_PAGE: bool = true;
}

pub async fn create(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<AddClientWithSecret>,
) -> Response {
    let v = AddValues::from_form(&f);
    let chosen = f.all("resources");
    match manage::create_client(&state, &f.admin.actor, v.to_input(&chosen)).await {
        Ok((c, secret)) => {
            let notice = Some(format!("Client {} registered.", c.client_id));
            page(
                &state,
                &f.admin,
                ClientQuery::default(),
                StatusCode::OK,
                default_values(),
                &[],
                secret.map(|s| (c.client_id.clone(), s)),
                notice,
                None,
            )
            .await
        }
        Err(e @ (AdminError::Store(_) | AdminError::Internal(_))) => failure(&state, e),
        Err(e) => {
            page(
                &state,
                &f.admin,
                ClientQuery::default(),
                StatusCode::BAD_REQUEST,
                v,
                &chosen,
                None,
                None,
                Some(e),
            )
            .await
        }
    }
}

pub struct NewClientSecret;

impl SensitiveAction for NewClientSecret {
    const WHAT: &'static str = "Making a new client secret";
}

pub async fn rotate(
    State(state): State<SharedState>,
    Reauthenticated { form: f, .. }: Reauthenticated<NewClientSecret>,
) -> Response {
    let id = f.get("client_id");
    match manage::rotate_client_secret(&state, &f.admin.actor, &id).await {
        Ok(s) => {
            page(
                &state,
                &f.admin,
                ClientQuery::default(),
                StatusCode::OK,
                default_values(),
                &[],
                Some((id.clone(), s)),
                Some(format!("New secret for {id}; the old one no longer works.")),
                None,
            )
            .await
        }
        Err(e) => error(&state, e),
    }
}

async fn set_blocked(state: &AppState, f: Submitted, blocked: bool) -> Response {
    let id = f.get("client_id");
    match manage::set_client_blocked(state, &f.admin.actor, &id, blocked).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/clients?notice={}",
            state.settings.issuer_path(),
            if blocked { "blocked" } else { "unblocked" }
        )),
        Err(e) => error(state, e),
    }
}

pub async fn block(State(state): State<SharedState>, f: Submitted) -> Response {
    set_blocked(&state, f, true).await
}

pub async fn unblock(State(state): State<SharedState>, f: Submitted) -> Response {
    set_blocked(&state, f, false).await
}

/// The client a delete confirmation is about (`?client_id=`).
fn client_to_delete(q: &HashMap<String, String>) -> String {
    q.get("client_id").cloned().unwrap_or_default()
}

/// Sign-in comes back to the confirmation of the same client.
pub struct DeleteConfirmation;

impl ReturnTo for DeleteConfirmation {
    async fn here(state: &AppState, parts: &mut Parts) -> String {
        // The handler's `Query` has refused a malformed query before this runs.
        let id = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(q)| client_to_delete(&q))
            .unwrap_or_default();
        format!(
            "{}/admin/clients/delete?client_id={}",
            state.settings.issuer_path(),
            display::seg(&id)
        )
    }
}

pub async fn delete_confirm(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    AdminPage { admin, .. }: AdminPage<DeleteConfirmation>,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let id = client_to_delete(&q);
    let impact = match manage::client_impact(&state, &id, false).await {
        Ok(i) => i,
        Err(e) => return error(&state, e),
    };
    let items = vec![
        format!(
            "{} grant{} revoked (refresh tokens stop working).",
            impact.grants_revoked,
            if impact.grants_revoked == 1 { "" } else { "s" }
        ),
        format!(
            "{} consent{} removed.",
            impact.consents_removed,
            if impact.consents_removed == 1 { "" } else { "s" }
        ),
        "The client can no longer authenticate; dynamic and metadata-document clients may register or resolve again unless blocked instead.".into(),
        format!(
            "Access tokens already issued stay valid until they expire (at most {}).",
            display::duration(impact.access_tokens_valid_for_at_most_secs)
        ),
    ];
    render(
        &state,
        StatusCode::OK,
        &ConfirmPage {
            a: admin.ctx(&state, "clients"),
            heading: format!("Delete client {id}?"),
            intro: "Deleting this client revokes:".into(),
            items,
            action: format!("{base}/admin/clients/delete"),
            hidden: vec![("client_id".into(), id)],
            button: "Delete client".into(),
            cancel: format!("{base}/admin/clients"),
        },
    )
}

pub async fn delete(State(state): State<SharedState>, f: Submitted) -> Response {
    match manage::delete_client(&state, &f.admin.actor, &f.get("client_id")).await {
        Ok(_) => page::see_other(&format!(
            "{}/admin/clients?notice=deleted",
            state.settings.issuer_path()
        )),
        Err(e) => error(&state, e),
    }
}
