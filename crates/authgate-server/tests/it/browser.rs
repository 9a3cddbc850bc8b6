//! A cookie-keeping HTTP "browser" that walks the sign-in and consent pages
//! the way a person's browser would (the real-browser suite is in e2e/).

use crate::support::*;
use authgate_core::model::{Role, User};
use authgate_core::random::OsRandom;
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://127.0.0.1:51234/callback";

pub async fn add_user(app: &TestApp, email: &str) -> User {
    let u = User {
        id: authgate_core::secret::generate_id(&OsRandom::new()).unwrap(),
        email: email.into(),
        name: Some("Ada".into()),
        password_hash: authgate_authority::passwords::hash_password(PASSWORD, &OsRandom::new())
            .unwrap(),
        disabled: false,
        role: Role::User,
        created_at: 0,
        email_verified: false,
        signed_up: false,
    };
    app.store.insert_user(&u).await.unwrap();
    u
}

pub struct Browser {
    pub http: reqwest::Client,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A browser behind a proxy that sends `X-Forwarded-For: <xff>`.
    pub fn forwarded_for(xff: &str) -> Self {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(h)
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.unwrap()).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(url).form(form).send().await.unwrap()).await
    }

    async fn page(r: reqwest::Response) -> Page {
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        }
    }
}

impl Page {
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no {name} in page: {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }

    pub fn query(&self) -> std::collections::HashMap<String, String> {
        let loc = self.location.as_ref().expect("a redirect");
        url::Url::parse(loc)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }
}

pub fn authorize_url(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = u.query_pairs_mut();
        let defaults = [
            ("response_type", "code"),
            ("client_id", "public"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "st-123"),
            ("resource", WEATHER_URI),
            ("scope", "weather:read"),
        ];
        for (k, v) in defaults {
            if !extra.iter().any(|(ek, _)| *ek == k) {
                q.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
    }
    u.to_string()
}

pub fn abs(app: &TestApp, loc: &str) -> String {
    if loc.starts_with("http") {
        loc.to_string()
    } else {
        format!("{}{}", app.origin(), loc)
    }
}

/// Walks /authorize → (sign in) → (consent, Allow) and returns the final
/// redirect to the client.
pub async fn authorize_through(
    app: &TestApp,
    b: &Browser,
    email: &str,
    extra: &[(&str, &str)],
) -> Page {
    let mut p = b.get(&authorize_url(app, extra)).await;
    for _ in 0..4 {
        assert_eq!(p.status, 303, "{}", p.body);
        let loc = p.location.clone().unwrap();
        if loc.starts_with(REDIRECT)
            || loc.starts_with("http://127.0.0.1:5") && loc.contains("/callback")
        {
            return p;
        }
        let page = b.get(&abs(app, &loc)).await;
        assert_eq!(page.status, 200, "{loc}: {}", page.body);
        if loc.contains("/login") {
            p = b
                .post(
                    &app.url("/login"),
                    &[
                        ("csrf", &page.hidden("csrf")),
                        ("r", &page.hidden("r")),
                        ("email", email),
                        ("password", PASSWORD),
                    ],
                )
                .await;
        } else {
            p = b
                .post(
                    &app.url("/consent"),
                    &[
                        ("csrf", &page.hidden("csrf")),
                        ("r", &page.hidden("r")),
                        ("decision", "allow"),
                    ],
                )
                .await;
        }
    }
    p
}

pub async fn exchange(app: &TestApp, code: &str, verifier: &str) -> (u16, Value) {
    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "public"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", REDIRECT),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    (s, b)
}

pub async fn refresh(app: &TestApp, rt: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", "public"),
        ("refresh_token", rt),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (s, b, _) = app.token_form(None, &form).await;
    (s, b)
}
