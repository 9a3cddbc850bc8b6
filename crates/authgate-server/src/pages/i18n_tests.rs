use super::*;
use axum::http::HeaderValue;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn accept_language_by_q_value() {
    assert_eq!(from_accept_language("fr"), Some(Locale::Fr));
    assert_eq!(from_accept_language("fr-CA,fr;q=0.9"), Some(Locale::Fr));
    assert_eq!(from_accept_language("en;q=0.5, fr;q=0.8"), Some(Locale::Fr));
    assert_eq!(from_accept_language("fr;q=0.5, en;q=0.8"), Some(Locale::En));
    // Unsupported languages are skipped, not a reason for English.
    assert_eq!(from_accept_language("de-DE, fr;q=0.3"), Some(Locale::Fr));
    // q=0 means "not this".
    assert_eq!(from_accept_language("fr;q=0, en;q=0.1"), Some(Locale::En));
    assert_eq!(from_accept_language("fr;q=0"), None);
    // Ties: the earlier wins.
    assert_eq!(from_accept_language("en, fr"), Some(Locale::En));
    assert_eq!(from_accept_language("*"), None);
}

#[test]
fn junk_headers_never_panic() {
    for junk in [
        "",
        ";;;;",
        ",,,",
        "fr;q=",
        "fr;q=abc",
        "fr;q=1.5",
        "fr;q=-1",
        "fr;q=NaN",
        "fr;q=inf",
        "=;=,=",
        "\u{e9}\u{e9};q=0.5",
        "fr;q=0.5;q=0.9",
    ] {
        let _ = from_accept_language(junk);
        let _ = from_ui_locales(junk);
        let _ = Locale::parse(junk);
    }
    // Malformed q counts as 0 (not chosen).
    assert_eq!(from_accept_language("fr;q=2"), None);
    let long = "xx;q=0.1,".repeat(10_000) + "fr";
    // Past the bound: ignored, and quick.
    assert_eq!(from_accept_language(&long), None);
}

#[test]
fn ui_locales_first_shipped() {
    assert_eq!(from_ui_locales("de fr-CA en"), Some(Locale::Fr));
    assert_eq!(from_ui_locales("en fr"), Some(Locale::En));
    assert_eq!(from_ui_locales("de it"), None);
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::try_from(*k),
            HeaderValue::from_str(v),
        ) {
            h.append(k, v);
        }
    }
    h
}

#[test]
fn cookie_then_ui_locales_then_accept_language() {
    let h = headers(&[("accept-language", "fr")]);
    assert_eq!(Hints::from_request(&h, "/").resolve(None), Locale::Fr);
    assert_eq!(Hints::from_request(&h, "/").resolve(Some("en")), Locale::En);
    let h = headers(&[
        ("accept-language", "fr"),
        ("cookie", "a=b; authgate_lang=en"),
    ]);
    assert_eq!(Hints::from_request(&h, "/").resolve(Some("fr")), Locale::En);
    let h = headers(&[("cookie", "authgate_lang=fr")]);
    assert_eq!(Hints::from_request(&h, "/").resolve(Some("en")), Locale::Fr);
    // A cookie with a value we did not set is ignored.
    let h = headers(&[("cookie", "authgate_lang=fr-xx"), ("accept-language", "en")]);
    assert_eq!(Hints::from_request(&h, "/").resolve(None), Locale::En);
    assert_eq!(
        Hints::from_request(&HeaderMap::new(), "/").resolve(None),
        Locale::En
    );
}

#[test]
fn interpolation_is_single_pass() {
    let s = translate_with(
        Locale::En,
        "Hello {name}, {missing} {",
        &[("name", "{name}")],
    );
    assert_eq!(s, "Hello {name}, {missing} {");
    let s = translate_with(
        Locale::En,
        "Allow {a} to use {b}?",
        &[("a", "X"), ("b", "Y")],
    );
    assert_eq!(s, "Allow X to use Y?");
}

#[test]
fn french_catalog_translates() {
    assert_eq!(translate(Locale::Fr, "Sign in"), "Se connecter");
    assert_eq!(translate(Locale::Fr, "no such text"), "no such text");
    assert_eq!(translate(Locale::En, "Sign in"), "Sign in");
}

/// Each `<marker>"literal"` in `text`.
/// The string literals that follow `marker` (`msg("`, `page.t("`), also
/// when rustfmt put the literal on the next line (`msg(\n    "…"`).
fn literals(text: &str, marker: &str, out: &mut BTreeSet<String>) {
    let call = marker.trim_end_matches('"');
    let mut rest = text;
    while let Some(i) = rest.find(call) {
        let after = rest[i + call.len()..].trim_start();
        rest = &rest[i + call.len()..];
        let Some(lit) = after.strip_prefix('"') else {
            continue;
        };
        match lit.find('"') {
            Some(end) => {
                out.insert(lit[..end].to_owned());
            }
            None => break,
        }
    }
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Every English text the pages can show: `page.t("…")` / `page.tf("…"`
/// in templates and `msg("…")` in Rust sources.
fn english_texts() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut set = BTreeSet::new();
    let mut files = Vec::new();
    walk(&root.join("templates"), "html", &mut files);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        literals(&text, "page.t(\"", &mut set);
        literals(&text, "page.tf(\"", &mut set);
    }
    let mut files = Vec::new();
    walk(&root.join("src"), "rs", &mut files);
    for f in files.iter().filter(|f| !f.ends_with("i18n_tests.rs")) {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        literals(&text, "msg(\"", &mut set);
    }
    set
}

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(end) => {
                out.insert(after[..end].to_owned());
                rest = &after[end..];
            }
            None => break,
        }
    }
    out
}

/// Adding a page: this test lists the texts to add to `locales/fr.json`.
#[test]
fn every_text_has_a_french_entry_and_none_is_orphaned() {
    let parsed: Result<HashMap<String, String>, _> = serde_json::from_str(FR_JSON);
    let fr = match parsed {
        Ok(m) => m,
        Err(e) => panic!("locales/fr.json does not parse: {e}"),
    };
    let english = english_texts();
    assert!(english.len() > 20, "found only {} texts", english.len());
    let missing: Vec<_> = english
        .iter()
        .filter(|e| fr.get(*e).is_none_or(|t| t.is_empty()))
        .collect();
    assert!(
        missing.is_empty(),
        "add French for these texts to crates/authgate-server/locales/fr.json:\n{}",
        missing
            .iter()
            .map(|m| format!("  {m:?}: \"\","))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let orphans: Vec<_> = fr.keys().filter(|k| !english.contains(*k)).collect();
    assert!(
        orphans.is_empty(),
        "fr.json entries no page uses: {orphans:?}"
    );
    for (k, v) in &fr {
        assert_eq!(
            placeholders(k),
            placeholders(v),
            "placeholders differ in {k:?}"
        );
    }
}
