//! The audit log: filters (text, event, actor, outcome, dates), pages
//! (newest first) and events a person can read: outcomes in the
//! dashboard's words ([`Outcome`]), actors by email with the id on hover,
//! details as fields.

use super::admin_page::AdminPage;
use super::display::{self, when};
use super::layout::{AdminCtx, error, render};
use super::outcome::Outcome;
use super::people::{Named, name_actors, recorded_names};
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::manage::AdminError;
use authgate_core::model::AuditEvent;
use authgate_store::AuditFilter;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;

const PAGE: i64 = 50;

/// The event families the filter offers (an event name's start).
pub const EVENT_FAMILIES: &[(&str, &str)] = &[
    ("sign_in.", "Sign-ins"),
    ("token.", "Tokens"),
    ("authorization_code.", "Authorization codes"),
    ("refresh_token.", "Refresh tokens"),
    ("consent.", "Consents"),
    ("client.", "Client registrations"),
    ("admin.", "Administration"),
];

pub struct Row {
    pub id: i64,
    pub at: String,
    pub event: String,
    /// The event name split at its dots (a line may break after each).
    pub event_parts: Vec<String>,
    pub actor: Named,
    pub client_id: String,
    pub resource_id: String,
    pub address: String,
    /// The dashboard's word, or the recorded one when it has none.
    pub outcome: String,
    /// `ok`, `bad`, `warn` or empty: how the outcome is marked.
    pub outcome_class: &'static str,
    pub detail: Vec<(String, String)>,
}

/// An event's detail as fields: each key with its value written plainly
/// (strings as they are, lists joined, other values as JSON).
pub fn detail_fields(detail: &Value) -> Vec<(String, String)> {
    fn plain(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) if items.is_empty() => "none".into(),
            Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
            Value::Null => "none".into(),
            other => other.to_string(),
        }
    }
    match detail {
        Value::Null => vec![],
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.replace('_', " "), plain(v)))
            .collect(),
        other => vec![("detail".into(), plain(other))],
    }
}

/// Builds the rows of `events`, naming their actors.
pub async fn rows(state: &AppState, events: Vec<AuditEvent>) -> Vec<Row> {
    let names = name_actors(state, events.iter().filter_map(|e| e.actor.as_deref())).await;
    events
        .into_iter()
        .map(|e| {
            let outcome = Outcome::of(&e.outcome);
            Row {
                id: e.id,
                at: when(Some(e.at)),
                actor: e
                    .actor
                    .as_deref()
                    .and_then(|a| names.get(a).cloned())
                    .unwrap_or_default(),
                event_parts: e.event.split('.').map(str::to_owned).collect(),
                event: e.event,
                client_id: e.client_id.unwrap_or_default(),
                resource_id: e.resource_id.unwrap_or_default(),
                address: e.address.unwrap_or_default(),
                outcome_class: match outcome {
                    Some(Outcome::Success) => "ok",
                    Some(Outcome::Failure) => "bad",
                    Some(Outcome::Refused) => "warn",
                    None => "",
                },
                outcome: outcome.map(|o| o.word().to_owned()).unwrap_or(e.outcome),
                detail: detail_fields(&e.detail),
            }
        })
        .collect()
}

/// The filters as typed (written back into the form and the page links).
#[derive(Default)]
pub struct Filters {
    pub q: String,
    pub event: String,
    pub actor: String,
    pub outcome: String,
    pub from: String,
    pub to: String,
}

impl Filters {
    fn read(params: &HashMap<String, String>) -> Self {
        let get = |k: &str| -> String {
            params
                .get(k)
                .map(|s| s.trim().chars().take(200).collect())
                .unwrap_or_default()
        };
        Self {
            q: get("q"),
            event: get("event"),
            actor: get("actor"),
            outcome: get("outcome"),
            from: get("from"),
            to: get("to"),
        }
    }

    /// The query string that repeats these filters.
    fn query(&self) -> String {
        [
            ("q", &self.q),
            ("event", &self.event),
            ("actor", &self.actor),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", display::seg(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn any(&self) -> bool {
        !self.query().is_empty()
    }

    /// What to ask the store, or the field that is wrong.
    async fn to_store(&self, state: &AppState) -> Result<AuditFilter, AdminError> {
        let date = |field: &str, v: &str| -> Result<Option<i64>, AdminError> {
            if v.is_empty() {
                return Ok(None);
            }
            crate::format::date_start(v)
                .map(Some)
                .ok_or_else(|| AdminError::invalid(field, "must be a date (YYYY-MM-DD)"))
        };
        let outcomes = match self.outcome.as_str() {
            "" => None,
            w => Some(
                Outcome::parse(w)
                    .ok_or_else(|| {
                        AdminError::invalid("outcome", "must be success, failure or refused")
                    })?
                    .recorded(),
            ),
        };
        let actors = match self.actor.as_str() {
            "" => None,
            a => Some(recorded_names(state, a).await),
        };
        Ok(AuditFilter {
            text: (!self.q.is_empty()).then(|| self.q.clone()),
            event_prefix: (!self.event.is_empty()).then(|| self.event.clone()),
            actors,
            outcomes,
            from: date("from", &self.from)?,
            // The "to" date is included: events before the next day.
            until: date("to", &self.to)?.map(|t| t + 86_400),
        })
    }
}

/// The event filter's choices; an event typed into the URL (a link from
/// another page) is offered too.
fn event_options(chosen: &str) -> Vec<(String, String, bool)> {
    let mut out: Vec<_> = EVENT_FAMILIES
        .iter()
        .map(|(p, l)| ((*p).to_owned(), (*l).to_owned(), *p == chosen))
        .collect();
    if !chosen.is_empty() && !out.iter().any(|o| o.2) {
        out.push((chosen.to_owned(), chosen.to_owned(), true));
    }
    out
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct ListPage {
    a: AdminCtx,
    f: Filters,
    /// (value, label, selected)
    event_options: Vec<(String, String, bool)>,
    /// (word, selected)
    outcome_options: Vec<(&'static str, bool)>,
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
    let f = Filters::read(&params);
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
    let filter = match f.to_store(&state).await {
        Ok(filter) => filter,
        Err(e) => return error(&state, e),
    };
    let mut events = match state
        .store
        .find_audit_events(&filter, before, PAGE + 1)
        .await
    {
        Ok(e) => e,
        Err(e) => return error(&state, e.into()),
    };
    let more = events.len() as i64 > PAGE;
    events.truncate(PAGE as usize);
    let qs = f.query();
    let sep = if qs.is_empty() { "" } else { "&" };
    let older = more
        .then(|| events.last().map(|e| e.id))
        .flatten()
        .map(|b| format!("{base}/admin/audit?{qs}{sep}before={b}"));
    let newest = before.map(|_| format!("{base}/admin/audit?{qs}"));
    let rows = rows(&state, events).await;
    render(
        &state,
        StatusCode::OK,
        &ListPage {
            a: admin.ctx(&state, "audit"),
            event_options: event_options(&f.event),
            outcome_options: Outcome::ALL
                .iter()
                .map(|o| (o.word(), f.outcome == o.word()))
                .collect(),
            f,
            rows,
            older,
            newest,
        },
    )
}
