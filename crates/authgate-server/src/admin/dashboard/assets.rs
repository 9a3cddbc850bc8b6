//! The dashboard's stylesheet and script (the copy buttons), served from
//! the binary.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../../assets/admin.css");
const JS: &str = include_str!("../../../assets/admin.js");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}
