//! The language switcher at the foot of every page: remembers the choice in
//! a cookie and returns to the page it was on.

use crate::http::form::FormPairs;
use crate::pages::i18n::{COOKIE, Locale};
use crate::pages::page;
use crate::state::SharedState;
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

/// A year: the choice is a preference, not a credential.
const MAX_AGE: i64 = 365 * 24 * 3600;

/// Where to return: a path on this server under the issuer path, never
/// another origin (`//host`, `/\host`) — an open redirect otherwise.
fn local_return(base: &str, back: &str) -> Option<String> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && back.len() <= 2048
        && !back.chars().any(char::is_control)
        && (base.is_empty()
            || back == base
            || back.starts_with(&format!("{base}/"))
            || back.starts_with(&format!("{base}?")));
    ok.then(|| back.to_owned())
}

pub async fn switch(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    // A cross-site form must not change a person's language (harmless, but
    // nothing a third party should do).
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let ours = url::Url::parse(&state.settings.issuer)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        if origin != ours {
            return page::error_page(
                &state,
                StatusCode::FORBIDDEN,
                crate::pages::i18n::msg("The language was not changed"),
                crate::pages::i18n::msg("The request came from another site."),
                crate::pages::i18n::msg("Use the language menu on this page."),
            );
        }
    }
    let pairs = form.map(|FormPairs(p)| p).unwrap_or_default();
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let base = state.settings.issuer_path().to_owned();
    let Some(locale) = Locale::parse(&field("lang")).filter(|l| l.tag() == field("lang")) else {
        return page::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            crate::pages::i18n::msg("The language was not changed"),
            crate::pages::i18n::msg("That language is not available."),
            crate::pages::i18n::msg("Use the language menu on this page."),
        );
    };
    let back = local_return(&base, &field("back")).unwrap_or_else(|| format!("{base}/account"));
    let mut resp = page::see_other(&back);
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; SameSite=Lax; Max-Age={MAX_AGE}{secure}",
        locale.tag()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::local_return;

    #[test]
    fn returns_only_to_local_pages() {
        assert_eq!(
            local_return("", "/login?r=abc").as_deref(),
            Some("/login?r=abc")
        );
        assert_eq!(
            local_return("/t", "/t/consent?r=x").as_deref(),
            Some("/t/consent?r=x")
        );
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "x",
            "/a\nb",
        ] {
            assert_eq!(local_return("", bad), None, "{bad:?}");
        }
        assert_eq!(local_return("/t", "/other"), None);
    }
}
