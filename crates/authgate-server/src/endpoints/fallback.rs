//! Answers for paths and methods no endpoint serves: JSON errors, like
//! the endpoints' own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            serde_json::json!({"error": "not_found", "error_description": "no such endpoint"}),
        ),
    )
        .into_response()
}

pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, "POST")],
        axum::Json(serde_json::json!({
            "error": "invalid_request",
            "error_description": "this endpoint accepts POST only"
        })),
    )
        .into_response()
}
