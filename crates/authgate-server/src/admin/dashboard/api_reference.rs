//! The admin API's reference for people: the OpenAPI document the API
//! serves (`admin::api::doc`), rendered on the server as one page —
//! operations by tag, their parameters, bodies and answers, then the
//! schemas. No script, nothing fetched from elsewhere.

use super::admin_page::AdminPage;
use super::layout::{AdminCtx, render};
use crate::admin::api::doc;
use crate::state::SharedState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

pub struct Param {
    pub name: String,
    pub location: String,
    pub ty: String,
    pub required: bool,
    pub description: String,
}

pub struct Answer {
    pub code: String,
    pub description: String,
    pub ty: String,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<Param>,
    pub body: String,
    pub answers: Vec<Answer>,
}

pub struct Tag {
    pub name: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

pub struct Field {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub description: String,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// For schemas that are not objects with properties (enums, unions).
    pub shape: String,
}

#[derive(Template)]
#[template(path = "admin/api_reference.html")]
struct ReferencePage {
    a: AdminCtx,
    title: String,
    version: String,
    description: String,
    server: String,
    openapi_url: String,
    token_url: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A schema's type in words: `ClientView`, `array of string`, `string or null`.
pub fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = s.get(key).and_then(Value::as_array) {
            let sep = if key == "allOf" { " and " } else { " or " };
            return items.iter().map(type_of).collect::<Vec<_>>().join(sep);
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let words: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        return format!("one of: {}", words.join(", "));
    }
    let one = |t: &str| -> String {
        match t {
            "array" => format!(
                "array of {}",
                s.get("items").map_or_else(|| "anything".into(), type_of)
            ),
            "object" if s.get("additionalProperties").is_some_and(Value::is_object) => {
                format!("map of {}", type_of(&s["additionalProperties"]))
            }
            other => other.to_owned(),
        }
    };
    match s.get("type") {
        Some(Value::String(t)) => one(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

fn operations(doc: &Value) -> Vec<(String, Operation)> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(&p["name"]),
                            location: text(&p["in"]),
                            ty: type_of(&p["schema"]),
                            required: p["required"].as_bool() == Some(true),
                            description: text(&p["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|_| type_of(&op["requestBody"]["content"]["application/json"]["schema"]))
                .unwrap_or_default();
            let mut answers: Vec<Answer> = op["responses"]
                .as_object()
                .map(|rs| {
                    rs.iter()
                        .map(|(code, r)| Answer {
                            code: code.clone(),
                            description: text(&r["description"]),
                            ty: r["content"]["application/json"]["schema"]
                                .as_object()
                                .map(|_| type_of(&r["content"]["application/json"]["schema"]))
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            answers.sort_by(|a, b| a.code.cmp(&b.code));
            let tag = op["tags"][0].as_str().unwrap_or("Other").to_owned();
            let anchor = format!(
                "op-{method}-{}",
                path.replace(['/', '{', '}'], "-").trim_matches('-')
            );
            out.push((
                tag,
                Operation {
                    anchor,
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    params,
                    body,
                    answers,
                },
            ));
        }
    }
    out
}

fn tags(doc: &Value) -> Vec<Tag> {
    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| Tag {
                    name: text(&t["name"]),
                    description: text(&t["description"]),
                    operations: vec![],
                })
                .collect()
        })
        .unwrap_or_default();
    for (tag, op) in operations(doc) {
        match tags.iter_mut().find(|t| t.name == tag) {
            Some(t) => t.operations.push(op),
            None => tags.push(Tag {
                name: tag,
                description: String::new(),
                operations: vec![op],
            }),
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    tags
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc["components"]["schemas"].as_object() else {
        return vec![];
    };
    all.iter()
        .map(|(name, s)| {
            let required: Vec<&str> = s["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields: Vec<Field> = s["properties"]
                .as_object()
                .map(|ps| {
                    ps.iter()
                        .map(|(f, p)| Field {
                            name: f.clone(),
                            ty: type_of(p),
                            required: required.contains(&f.as_str()),
                            description: text(&p["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: text(&s["description"]),
                shape: if fields.is_empty() {
                    type_of(s)
                } else {
                    String::new()
                },
                fields,
            }
        })
        .collect()
}

pub async fn show(
    State(state): State<SharedState>,
    AdminPage { admin, .. }: AdminPage,
) -> Response {
    let d = doc::document(&state);
    let issuer = &state.settings.issuer;
    let page = ReferencePage {
        a: admin.ctx(&state, "api"),
        title: text(&d["info"]["title"]),
        version: text(&d["info"]["version"]),
        description: text(&d["info"]["description"]),
        server: text(&d["servers"][0]["url"]),
        openapi_url: format!(
            "{}{}{}",
            state.settings.issuer_path(),
            authgate_authority::builtin::API_PREFIX,
            crate::admin::api::OPENAPI_PATH
        ),
        token_url: format!("{issuer}/token"),
        tags: tags(&d),
        schemas: schemas(&d),
    };
    render(&state, StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_in_words() {
        assert_eq!(
            type_of(&json!({"$ref": "#/components/schemas/ClientView"})),
            "ClientView"
        );
        assert_eq!(
            type_of(&json!({"type": "array", "items": {"type": "string"}})),
            "array of string"
        );
        assert_eq!(
            type_of(&json!({"type": ["string", "null"]})),
            "string or null"
        );
        assert_eq!(type_of(&json!({"enum": ["a", "b"]})), "one of: a, b");
        assert_eq!(type_of(&json!({})), "any");
    }

    #[test]
    fn every_documented_operation_is_on_the_page() {
        let d = serde_json::to_value(<doc::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
        let shown: usize = tags(&d).iter().map(|t| t.operations.len()).sum();
        assert_eq!(shown, crate::admin::api::ROUTES.len());
        assert!(
            schemas(&d)
                .iter()
                .any(|s| s.name == "ErrorBody" && !s.fields.is_empty())
        );
    }
}
