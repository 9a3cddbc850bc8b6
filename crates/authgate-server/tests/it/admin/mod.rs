//! Administration: the admin API, its OpenAPI document, the audit log, the
//! dashboard, first-run setup.

mod api;
mod audit;
mod cli;
mod connections_api;
mod dashboard;
mod orgs_api;
mod overview;
mod people;

use crate::browser::{Browser, PASSWORD};
use crate::support::*;
use authgate_authority::config::{ClientConfig, Config};
use authgate_core::model::{Role, User};
use authgate_core::random::OsRandom;
use serde_json::Value;
use std::time::Duration;

pub const OPS_SECRET: &str = "ops-secret-0123456789abcdef0123456789abcdef";

fn admin_client(id: &str, scopes: Vec<String>) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        client_name: Some(format!("{id} automation")),
        client_secret: Some(OPS_SECRET.into()),
        client_secret_file: None,
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        resources: vec!["authgate-admin".into()],
        scopes: Some(scopes),
    }
}

/// The default test config plus `ops` (allowed `authgate:admin`), and
/// `ops-noscope` (allowed the admin resource but no scope); the connection
/// check may reach loopback stand-ins.
pub fn admin_config() -> Config {
    let mut cfg = default_config();
    cfg.admin_connection_check_allow_private = true;
    cfg.clients
        .push(admin_client("ops", vec!["authgate:admin".into()]));
    cfg.clients.push(admin_client("ops-noscope", vec![]));
    cfg
}

pub struct Admin {
    pub app: TestApp,
    pub token: String,
}

pub async fn client_token(app: &TestApp, id: &str, scope: &str) -> String {
    let resource = app.url("/admin/api/v1");
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("resource", &resource),
    ];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    let (s, body, _) = app.token_form(Some((id, OPS_SECRET)), &form).await;
    assert_eq!(s, 200, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

impl Admin {
    pub async fn start() -> Self {
        let app = TestApp::start_with(admin_config(), "").await;
        let token = client_token(&app, "ops", "authgate:admin").await;
        Self { app, token }
    }

    pub fn api(&self, path: &str) -> String {
        self.app.url(&format!("/admin/api/v1{path}"))
    }

    pub async fn call_with(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.app.http.request(m, self.api(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v, headers)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (s, v, _) = self.call_with(Some(&self.token), method, path, body).await;
        (s, v)
    }
}

pub async fn add_admin(app: &TestApp, email: &str) -> User {
    let u = User {
        id: authgate_core::secret::generate_id(&OsRandom::new()).unwrap(),
        email: email.into(),
        name: Some("Grace".into()),
        password_hash: authgate_authority::passwords::hash_password(PASSWORD, &OsRandom::new())
            .unwrap(),
        disabled: false,
        role: Role::Admin,
        created_at: 0,
        email_verified: false,
        signed_up: false,
    };
    app.store.insert_user(&u).await.expect("insert admin");
    u
}

/// Waits (briefly) for an audit event matching `pred` — the queue is async.
pub async fn audit_event(app: &TestApp, q: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let events = app
            .store
            .list_audit_events(Some(q), None, 200)
            .await
            .expect("audit");
        for e in events {
            let v = serde_json::to_value(&e).expect("json");
            if pred(&v) {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("no audit event matching {q:?}");
}

/// Signs in at /login in `b` (after a dashboard redirect) and returns the
/// redirect target.
pub async fn sign_in(app: &TestApp, b: &Browser, email: &str) -> String {
    let login = b.get(&app.url("/login")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    p.location.expect("redirect")
}
