//! The pages' languages: which one a request gets, and the translated text.
//!
//! Text is keyed by its English wording (gettext style): a template writes
//! `{{ page.t("Sign in") }}` and a language's catalog maps "Sign in" to its
//! translation; text missing from a catalog shows in English. Catalogs are
//! JSON objects compiled into the binary (`locales/<tag>.json`).
//!
//! The language is chosen, first match wins, by: the `lang` cookie (the
//! switcher at the foot of every page), the pending authorization request's
//! `ui_locales`, `Accept-Language` (by q-value), then English. A middleware
//! ([`negotiate_layer`]) captures the request's cookie, `Accept-Language`
//! and path for the duration of the handler, so `PageCtx::new(&state)`
//! anywhere in a page handler already speaks the person's language.

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The name of the cookie holding an explicit language choice.
pub const COOKIE: &str = "authgate_lang";

/// A language the pages are shipped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// The language's own name, for the switcher.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
        }
    }

    /// The shipped language for a BCP 47 tag ("fr", "fr-CA", "FR_be"), by
    /// its primary subtag.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Locale::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    fn catalog(self) -> Option<&'static HashMap<String, String>> {
        match self {
            Locale::En => None,
            Locale::Fr => Some(&FR),
        }
    }
}

/// Marks English text written in Rust (headings of error pages, labels)
/// as translatable, so the catalog check finds it. Returns it unchanged;
/// the page translates it with `page.t(..)` when rendering.
pub const fn msg(english: &str) -> &str {
    english
}

const FR_JSON: &str = include_str!("../../locales/fr.json");

static FR: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse_catalog("fr", FR_JSON));

fn parse_catalog(tag: &str, json: &str) -> HashMap<String, String> {
    match serde_json::from_str(json) {
        Ok(m) => m,
        Err(e) => {
            // A broken catalog shows English rather than failing pages; the
            // unit tests keep it from shipping.
            tracing::error!(locale = tag, error = %e, "translation catalog does not parse");
            HashMap::new()
        }
    }
}

/// `english` in `locale`, or `english` itself when not translated.
pub fn translate(locale: Locale, english: &str) -> &str {
    match locale.catalog().and_then(|c| c.get(english)) {
        Some(t) if !t.is_empty() => t.as_str(),
        _ => english,
    }
}

/// `english` in `locale` with each `{name}` replaced by its value. Values
/// are inserted once, after translation (a value containing `{x}` is not
/// expanded again); the template escapes the result.
pub fn translate_with(locale: Locale, english: &str, args: &[(&str, &str)]) -> String {
    let text = translate(locale, english);
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Most language ranges looked at in one header (bounds the work on junk).
const MAX_RANGES: usize = 32;

/// The shipped language `Accept-Language` prefers most (RFC 9110 §12.5.4:
/// highest q wins, earlier wins ties, q=0 means "not this one").
pub fn from_accept_language(value: &str) -> Option<Locale> {
    let mut best: Option<(Locale, u16)> = None;
    for range in value.split(',').take(MAX_RANGES) {
        let mut parts = range.split(';');
        let Some(locale) = parts.next().and_then(Locale::parse) else {
            continue;
        };
        let mut q: u16 = 1000;
        for p in parts {
            if let Some((k, v)) = p.trim().split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(v.trim()).unwrap_or(0);
            }
        }
        if q > 0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((locale, q));
        }
    }
    best.map(|(l, _)| l)
}

/// A q-value as thousandths (0..=1000); `None` when malformed.
fn parse_q(v: &str) -> Option<u16> {
    if v.len() > 5 {
        return None;
    }
    let f: f32 = v.parse().ok()?;
    (0.0..=1.0)
        .contains(&f)
        .then(|| (f * 1000.0).round() as u16)
}

/// The first shipped language of an OIDC `ui_locales` (space-separated
/// tags, in preference order).
pub fn from_ui_locales(value: &str) -> Option<Locale> {
    value
        .split_ascii_whitespace()
        .take(MAX_RANGES)
        .find_map(Locale::parse)
}

/// The language chosen explicitly with the switcher.
pub fn from_cookie(headers: &HeaderMap) -> Option<Locale> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .and_then(|(_, v)| Locale::parse(v).filter(|l| l.tag() == v))
}

/// What a request says about its language, before the pending request's
/// `ui_locales` (known only to the handler) is considered.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub cookie: Option<Locale>,
    pub accept: Option<Locale>,
    /// The path and query of the page, where the switcher returns to.
    pub here: String,
}

impl Hints {
    pub fn from_request(headers: &HeaderMap, path_and_query: &str) -> Hints {
        Hints {
            cookie: from_cookie(headers),
            accept: headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language),
            here: path_and_query.chars().take(2048).collect(),
        }
    }

    /// The language: cookie, then `ui_locales`, then `Accept-Language`.
    pub fn resolve(&self, ui_locales: Option<&str>) -> Locale {
        self.cookie
            .or_else(|| ui_locales.and_then(from_ui_locales))
            .or(self.accept)
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static HINTS: Hints;
}

/// The current request's hints (defaults outside a request: English).
pub fn current_hints() -> Hints {
    HINTS.try_with(Hints::clone).unwrap_or_default()
}

/// Middleware: makes the request's language hints available to
/// `PageCtx::new` while the handler runs.
pub async fn negotiate_layer(req: Request, next: Next) -> Response {
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let hints = Hints::from_request(req.headers(), here);
    HINTS.scope(hints, next.run(req)).await
}

#[cfg(test)]
#[path = "i18n_tests.rs"]
mod tests;
