//! The admin API: JSON under `{issuer-path}/admin/api/v1`, authenticated
//! by access tokens authgate itself issues for its built-in admin resource
//! (scope `authgate:admin`). [`ROUTES`] is the one list of routes: the
//! router is built from it, and a test checks the OpenAPI document
//! describes exactly these.

mod auth;
pub mod doc;
mod handlers;

pub use auth::Caller;

use crate::app::SharedState;
use authgate_authority::builtin::API_PREFIX;
use authgate_authority::manage::AdminError;
use authgate_authority::manage::types::ErrorBody;
use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde::de::DeserializeOwned;

type MakeRoute = fn() -> MethodRouter<SharedState>;

/// Every admin API route: (method, path under the API prefix, handler).
pub const ROUTES: &[(&str, &str, MakeRoute)] = &[
    ("GET", "/resources", || get(handlers::list_resources)),
    ("POST", "/resources", || post(handlers::create_resource)),
    ("GET", "/resources/{id}", || get(handlers::get_resource)),
    ("PUT", "/resources/{id}", || put(handlers::update_resource)),
    ("DELETE", "/resources/{id}", || {
        delete(handlers::delete_resource)
    }),
    ("GET", "/resources/{id}/metadata", || {
        get(handlers::resource_metadata)
    }),
    ("POST", "/resources/{id}/check", || {
        post(handlers::check_resource)
    }),
    ("GET", "/clients", || get(handlers::list_clients)),
    ("POST", "/clients", || post(handlers::create_client)),
    ("GET", "/clients/{client_id}", || get(handlers::get_client)),
    ("DELETE", "/clients/{client_id}", || {
        delete(handlers::delete_client)
    }),
    ("POST", "/clients/{client_id}/secret", || {
        post(handlers::rotate_client_secret)
    }),
    ("POST", "/clients/{client_id}/block", || {
        post(handlers::block_client)
    }),
    ("POST", "/clients/{client_id}/unblock", || {
        post(handlers::unblock_client)
    }),
    ("GET", "/users", || get(handlers::list_users)),
    ("POST", "/users", || post(handlers::create_user)),
    ("GET", "/users/{id}", || get(handlers::get_user)),
    ("POST", "/users/{id}/disable", || {
        post(handlers::disable_user)
    }),
    ("POST", "/users/{id}/enable", || post(handlers::enable_user)),
    ("POST", "/users/{id}/password-link", || {
        post(handlers::password_link)
    }),
    ("GET", "/users/{id}/grants", || get(handlers::user_grants)),
    ("POST", "/users/{id}/grants/revoke", || {
        post(handlers::revoke_user_grant)
    }),
    ("GET", "/keys", || get(handlers::list_keys)),
    ("POST", "/keys/rotate", || post(handlers::rotate_key)),
    ("POST", "/keys/{kid}/retire", || post(handlers::retire_key)),
    ("GET", "/audit", || get(handlers::audit)),
];

/// The OpenAPI document's path (not in [`ROUTES`]: it needs no token).
pub const OPENAPI_PATH: &str = "/openapi.json";

pub fn router(base: &str) -> Router<SharedState> {
    let mut r = Router::new();
    for (_, path, make) in ROUTES {
        r = r.route(&format!("{base}{API_PREFIX}{path}"), make());
    }
    r.route(
        &format!("{base}{API_PREFIX}{OPENAPI_PATH}"),
        get(doc::openapi_json),
    )
    .route(
        &format!("/.well-known/oauth-protected-resource{base}{API_PREFIX}"),
        get(handlers::protected_resource_metadata),
    )
    .layer(axum::middleware::map_response(no_store))
}

async fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        crate::http::forbid_caching(h);
    }
    resp
}

/// An admin API error response.
#[derive(Debug)]
pub enum Failure {
    Admin(AdminError),
    /// The bearer check failed: 401 (no or bad token) or 403 (scope or
    /// account), with the `WWW-Authenticate` challenge to send.
    Auth {
        status: StatusCode,
        error: &'static str,
        description: &'static str,
        challenge: String,
    },
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        Failure::Admin(e)
    }
}

impl From<authgate_store::StoreError> for Failure {
    fn from(e: authgate_store::StoreError) -> Self {
        Failure::Admin(AdminError::Store(e))
    }
}

fn body(
    error: &str,
    description: impl Into<String>,
    field: Option<String>,
) -> axum::Json<ErrorBody> {
    axum::Json(ErrorBody {
        error: error.into(),
        error_description: description.into(),
        field,
    })
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, b) = match self {
            Failure::Admin(AdminError::Invalid { field, description }) => (
                StatusCode::BAD_REQUEST,
                body("invalid_request", description, Some(field)),
            ),
            Failure::Admin(AdminError::Conflict { field, description }) => (
                StatusCode::CONFLICT,
                body("conflict", description, Some(field)),
            ),
            Failure::Admin(AdminError::NotFound(m)) => {
                (StatusCode::NOT_FOUND, body("not_found", m, None))
            }
            Failure::Admin(e @ (AdminError::Store(_) | AdminError::Internal(_))) => {
                tracing::error!(error = %e, "admin API failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    body("server_error", e.message(), None),
                )
            }
            Failure::Auth {
                status,
                error,
                description,
                challenge,
            } => {
                let mut resp = (status, body(error, description, None)).into_response();
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                return resp;
            }
        };
        (status, b).into_response()
    }
}

/// A JSON request body; errors name the field at fault.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(
                AdminError::invalid("body", "the request body must be application/json").into(),
            );
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AdminError::invalid("body", "the request body is too large")
                } else {
                    AdminError::invalid("body", "the request body could not be read")
                }
            })?;
        parse_json(&bytes).map(JsonBody).map_err(Into::into)
    }
}

/// Parses JSON into `T`, naming the field at fault on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.inner();
            let mut msg = inner.to_string();
            if let Some(i) = msg.find(" at line ") {
                msg.truncate(i);
            }
            // "missing field `uri`" / "unknown field `x`": name that field.
            let named = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"))
                .map(str::to_owned);
            let field = match (named, path.as_str()) {
                (Some(n), "." | "") => n,
                (Some(n), p) if msg.starts_with("missing field") => format!("{p}.{n}"),
                (Some(n), _) if msg.starts_with("unknown field") => n,
                (_, "." | "") => "body".to_string(),
                (_, p) => p.to_string(),
            };
            if inner.is_syntax() || inner.is_eof() {
                return Err(AdminError::invalid(
                    "body",
                    format!("not valid JSON: {msg}"),
                ));
            }
            Err(AdminError::invalid(&field, msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate_authority::manage::types::ResourceInput;

    fn field(json: &str) -> String {
        match parse_json::<ResourceInput>(json.as_bytes()) {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field(r#"{"name":"x"}"#), "uri");
        assert_eq!(field(r#"{"name":"x","uri":5}"#), "uri");
        assert_eq!(field(r#"{"name":"x","uri":"u","nope":1}"#), "nope");
        assert_eq!(
            field(r#"{"name":"x","uri":"u","scopes":[{"description":"d"}]}"#),
            "scopes[0].name"
        );
        assert_eq!(
            field(r#"{"name":"x","uri":"u","access_token_ttl_secs":"x"}"#),
            "access_token_ttl_secs"
        );
        assert_eq!(field("{"), "body");
        assert_eq!(field("[]"), "body");
    }

    #[test]
    fn routes_are_unique() {
        for (i, (m, p, _)) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i].iter().any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} twice"
            );
        }
    }
}
