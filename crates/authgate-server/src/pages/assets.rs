//! The pages' stylesheet, served from the binary.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../assets/authgate.css");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
}

/// The operator's accent colours as CSS custom properties (the CSP allows
/// no inline styles). Colours are re-parsed and re-printed, so nothing from
/// the configuration reaches the stylesheet verbatim.
pub fn brand_css(raw: &authgate_authority::config::Config) -> String {
    use authgate_authority::branding::parse_hex;
    let hex = |v: &Option<String>| {
        v.as_deref()
            .and_then(parse_hex)
            .map(|(r, g, b)| format!("#{r:02x}{g:02x}{b:02x}"))
    };
    let mut css = String::from("/* operator branding */\n");
    if let Some(c) = hex(&raw.primary_color) {
        css.push_str(&format!(
            "@media (prefers-color-scheme:light){{:root{{--accent:{c};--accent-fg:#fff}}}}\n"
        ));
    }
    if let Some(c) = hex(&raw.primary_color_dark) {
        css.push_str(&format!(
            "@media (prefers-color-scheme:dark){{:root{{--accent:{c};--accent-fg:#0b0d10}}}}\n"
        ));
    }
    css
}

pub async fn brand_stylesheet(
    axum::extract::State(state): axum::extract::State<crate::state::SharedState>,
) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        brand_css(&state.settings.raw),
    )
}
