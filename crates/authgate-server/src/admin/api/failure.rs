//! The admin API's error answers: JSON `{error, error_description,
//! field}` with the status of the failure, and the bearer challenge when
//! the token was refused.

use authgate_authority::manage::AdminError;
use authgate_authority::manage::types::ErrorBody;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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
            Failure::Admin(AdminError::Forbidden(m)) => {
                (StatusCode::FORBIDDEN, body("access_denied", m, None))
            }
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
