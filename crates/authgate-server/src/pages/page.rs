//! Rendering a page: what every page needs from configuration, the
//! security headers every page carries, error pages and redirects.

use crate::pages::i18n::{self, Locale};
use crate::state::AppState;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What every page needs from configuration and the request.
pub struct PageCtx {
    pub instance_name: String,
    pub logo_uri: Option<String>,
    /// The issuer path ("" or "/t"), prefix of every link.
    pub base: String,
    /// The page's language (`<html lang>`, [`PageCtx::t`]).
    pub locale: Locale,
    /// Path and query of this page, where the language switcher returns.
    pub here: String,
}

impl PageCtx {
    /// The text to show for the English `text`, in the page's language.
    /// Every person-facing string in a template goes through this
    /// (`{{ page.t("Sign in") }}`); text missing from the language's
    /// catalog (`locales/<lang>.json`) shows in English.
    pub fn t<'a>(&self, text: &'a str) -> &'a str {
        i18n::translate(self.locale, text)
    }

    /// [`PageCtx::t`] for text with values: `{name}` in the English text
    /// (and its translation) is replaced by the value named `name`:
    /// `{{ page.tf("Allow {client}?", [("client", client_name.as_str())]) }}`.
    pub fn tf(&self, text: &str, args: &[(&str, &str)]) -> String {
        i18n::translate_with(self.locale, text, args)
    }

    /// The languages offered by the switcher, with whether each is current.
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Locale::ALL
            .iter()
            .map(|l| (l.tag(), l.name(), *l == self.locale))
            .collect()
    }

    /// The page for the current request, in the language its cookie or
    /// `Accept-Language` asks for (English outside a request).
    pub fn new(state: &AppState) -> Self {
        let hints = i18n::current_hints();
        Self {
            instance_name: state.settings.raw.instance_name.clone(),
            logo_uri: state.settings.raw.logo_uri.clone(),
            base: state.settings.issuer_path().to_owned(),
            locale: hints.resolve(None),
            here: hints.here,
        }
    }

    /// Also honours the pending authorization request's `ui_locales`
    /// (after an explicit choice, before `Accept-Language`).
    pub fn with_ui_locales(mut self, ui_locales: Option<&str>) -> Self {
        self.locale = i18n::current_hints().resolve(ui_locales);
        self
    }
}

/// Headers every page carries: no framing (clickjacking on consent), no
/// caching, a CSP that allows only our own stylesheet and images.
pub fn secure(mut resp: Response, state: &AppState) -> Response {
    let img = match &state.settings.raw.logo_uri {
        Some(l) => url::Url::parse(l)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default(),
        None => String::new(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' {img}; base-uri 'none'; frame-ancestors 'none'"
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    crate::http::cache::forbid_caching(h);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// Lets this one page show an image from `url`'s origin (an MCP server's
/// logo on the consent page): its origin joins the CSP's `img-src`.
pub fn allow_image(resp: &mut Response, url: &str) {
    let Ok(origin) = url::Url::parse(url).map(|u| u.origin().ascii_serialization()) else {
        return;
    };
    let csp = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.replacen("img-src 'self'", &format!("img-src 'self' {origin}"), 1));
    if let Some(v) = csp.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

pub fn render(state: &AppState, status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => secure((status, axum::response::Html(html)).into_response(), state),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            secure(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown.",
                )
                    .into_response(),
                state,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: PageCtx,
    heading: &'a str,
    message: &'a str,
    advice: &'a str,
}

/// A readable error page: what went wrong, and what to do.
pub fn error_page(
    state: &AppState,
    status: StatusCode,
    heading: &str,
    message: &str,
    advice: &str,
) -> Response {
    render(
        state,
        status,
        &ErrorPage {
            page: PageCtx::new(state),
            heading,
            message,
            advice,
        },
    )
}

/// Redirect after a form post (303 so the browser uses GET).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            crate::http::cache::forbid_caching(r.headers_mut());
            r
        }
        Err(_) => (StatusCode::BAD_REQUEST, "bad redirect").into_response(),
    }
}
