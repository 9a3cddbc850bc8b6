//! The pages speak the person's language: Accept-Language, the request's
//! `ui_locales`, and the switcher's cookie (issue 21 part 5).

use crate::browser::*;
use crate::support::*;

fn browser_speaking(lang: &str) -> Browser {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("accept-language", lang.parse().unwrap());
    Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(h)
            .build()
            .unwrap(),
    }
}

/// Signs in from /authorize; returns the consent page's address.
async fn to_consent(app: &TestApp, b: &Browser, extra: &[(&str, &str)]) -> (Page, String) {
    let p = b.get(&authorize_url(app, extra)).await;
    let login = b.get(&abs(app, &p.location.clone().unwrap())).await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    (login, p.location.unwrap())
}

#[tokio::test]
async fn accept_language_fr_renders_french_login_consent_account() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = browser_speaking("de-DE, fr;q=0.8, en;q=0.5");
    let (login, consent_loc) = to_consent(&app, &b, &[]).await;
    assert!(login.body.contains("<html lang=\"fr\">"), "{}", login.body);
    // The first step of the sign-in asks for the email.
    assert!(login.body.contains(">Continuer</button>"), "{}", login.body);
    assert!(login.body.contains("Adresse e-mail"));
    let consent = b.get(&abs(&app, &consent_loc)).await;
    assert_eq!(consent.status, 200);
    for needle in [
        "<html lang=\"fr\">",
        ">Autoriser</button>",
        ">Refuser</button>",
        "Enregistrée par votre administrateur",
        "Autoriser Public à utiliser Weather ?",
    ] {
        assert!(
            consent.body.contains(needle),
            "lacks {needle}: {}",
            consent.body
        );
    }
    let account = b.get(&app.url("/account")).await;
    assert!(
        account.body.contains("Applications connectées"),
        "{}",
        account.body
    );
    // An expired request's error page too.
    let err = b.get(&app.url("/consent?r=nothing")).await;
    assert_eq!(err.status, 400);
    assert!(err.body.contains("Cette demande a expiré"), "{}", err.body);
    app.shutdown().await;
}

#[tokio::test]
async fn ui_locales_beats_accept_language_and_the_cookie_beats_both() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let b = browser_speaking("en");
    let (_, consent_loc) = to_consent(&app, &b, &[("ui_locales", "fr-CA en")]).await;
    let consent = b.get(&abs(&app, &consent_loc)).await;
    assert!(
        consent.body.contains("<html lang=\"fr\">"),
        "{}",
        consent.body
    );
    // The switcher: choose English, come back to the same page.
    let back = consent_loc.clone();
    let p = b
        .post(&app.url("/language"), &[("lang", "en"), ("back", &back)])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location.as_deref(), Some(back.as_str()));
    let set = p.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("authgate_lang=en;"), "{set}");
    let consent = b.get(&abs(&app, &consent_loc)).await;
    assert!(
        consent.body.contains("<html lang=\"en\">"),
        "{}",
        consent.body
    );
    // Never back to another site; unknown languages refused with a page.
    let p = b
        .post(
            &app.url("/language"),
            &[("lang", "fr"), ("back", "//evil.example/")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(!p.location.unwrap().contains("evil"));
    let p = b
        .post(
            &app.url("/language"),
            &[("lang", "xx"), ("back", "/account")],
        )
        .await;
    assert_eq!(p.status, 400);
    let p = b
        .http
        .post(app.url("/language"))
        .header("origin", "https://evil.example")
        .form(&[("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(p.status().as_u16(), 403);
    app.shutdown().await;
}

#[tokio::test]
async fn brand_stylesheet_carries_the_operator_colours() {
    let mut cfg = default_config();
    cfg.primary_color = Some("#1A56B0".into());
    let app = TestApp::start_with(cfg, "").await;
    let css = app
        .http
        .get(app.url("/assets/brand.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(css.contains("--accent:#1a56b0"), "{css}");
    assert!(!css.contains("prefers-color-scheme:dark"), "{css}");
    app.shutdown().await;
}
