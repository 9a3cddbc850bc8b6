//! The `TestApp` builder shared by the integration tests.

use authgate_authority::config::{self, ClientConfig, Config, ResourceConfig};
use authgate_core::random::{OsRandom, Random};
use authgate_core::scope::ScopeDef;
use authgate_server::serve::{self, Running};
use authgate_store::Store;
use base64::Engine;
use serde_json::Value;
use std::sync::Arc;

pub const SVC_SECRET: &str = "svc-secret-0123456789abcdef0123456789abcdef";
pub const WEATHER_URI: &str = "https://mcp.example.com/weather";
pub const NOTES_URI: &str = "https://notes.example.com/mcp";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

pub fn scope(name: &str, implies: &[&str]) -> ScopeDef {
    ScopeDef {
        name: name.into(),
        description: format!("{name} description"),
        implies: implies.iter().map(|s| s.to_string()).collect(),
    }
}

/// Two MCP servers, a confidential client for one of them, a confidential
/// client for both, and a public client.
pub fn default_config() -> Config {
    Config {
        resources: vec![
            ResourceConfig {
                id: "weather".into(),
                name: "Weather".into(),
                uri: WEATHER_URI.into(),
                scopes: vec![
                    scope("weather:read", &[]),
                    scope("weather:write", &["weather:read"]),
                ],
                default_scopes: vec!["weather:read".into()],
                access_token_ttl_secs: None,
                refresh_token_idle_ttl_secs: None,
                refresh_token_absolute_ttl_secs: None,
                allow_dynamic_registration: true,
                allow_client_id_metadata_documents: true,
                allow_dynamic_client_credentials: false,
                documentation_uri: None,
                logo_uri: None,
                signup: Default::default(),
            },
            ResourceConfig {
                id: "notes".into(),
                name: "Notes".into(),
                uri: NOTES_URI.into(),
                scopes: vec![scope("notes:read", &[])],
                default_scopes: vec!["notes:read".into()],
                access_token_ttl_secs: Some(600),
                refresh_token_idle_ttl_secs: None,
                refresh_token_absolute_ttl_secs: None,
                allow_dynamic_registration: true,
                allow_client_id_metadata_documents: true,
                allow_dynamic_client_credentials: false,
                documentation_uri: None,
                logo_uri: None,
                signup: Default::default(),
            },
        ],
        clients: vec![
            ClientConfig {
                client_id: "svc".into(),
                client_name: Some("Service".into()),
                client_secret: Some(SVC_SECRET.into()),
                client_secret_file: None,
                token_endpoint_auth_method: Some("client_secret_basic".into()),
                redirect_uris: vec![],
                grant_types: vec!["client_credentials".into()],
                resources: vec!["weather".into()],
                scopes: Some(vec!["weather:read".into(), "weather:write".into()]),
            },
            ClientConfig {
                client_id: "multi".into(),
                client_name: None,
                client_secret: Some(SVC_SECRET.into()),
                client_secret_file: None,
                token_endpoint_auth_method: Some("client_secret_post".into()),
                redirect_uris: vec![],
                grant_types: vec!["client_credentials".into()],
                resources: vec!["weather".into(), "notes".into()],
                scopes: None,
            },
            ClientConfig {
                client_id: "public".into(),
                client_name: Some("Public".into()),
                client_secret: None,
                client_secret_file: None,
                token_endpoint_auth_method: Some("none".into()),
                redirect_uris: vec!["http://127.0.0.1/callback".into()],
                grant_types: vec![],
                // Issue 17: no list means no resource; "*" is every MCP
                // server but the admin API.
                resources: vec!["*".into()],
                scopes: None,
            },
        ],
        ..Config::default()
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(default_config(), "").await
    }

    /// Starts with `cfg`; the issuer is the bound loopback address plus
    /// `issuer_path` (e.g. "/t").
    pub async fn start_with(cfg: Config, issuer_path: &str) -> Self {
        Self::start_with_rng(cfg, issuer_path, Arc::new(OsRandom::new())).await
    }

    /// [`Self::start_with`] with the server's random generator replaced
    /// (e.g. one that can be made to fail).
    pub async fn start_with_rng(cfg: Config, issuer_path: &str, rng: Arc<dyn Random>) -> Self {
        Self::start_full(cfg, None, issuer_path, rng).await
    }

    /// [`Self::start_with`] with the issuer named `http://{host}:{port}`
    /// (e.g. `localhost`): a second server on another host name keeps its
    /// own cookies in the same test browser (cookies ignore the port).
    pub async fn start_on_host(cfg: Config, host: &str) -> Self {
        Self::start_full(cfg, Some(host), "", Arc::new(OsRandom::new())).await
    }

    async fn start_full(
        mut cfg: Config,
        host: Option<&str>,
        issuer_path: &str,
        rng: Arc<dyn Random>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let authority = match host {
            Some(h) => format!("{h}:{}", addr.port()),
            None => addr.to_string(),
        };
        cfg.issuer = Some(format!("http://{authority}{issuer_path}"));
        cfg.listen = addr.to_string();
        cfg.data_dir = dir.path().join("data");
        cfg.database_url = Some(format!(
            "sqlite://{}",
            dir.path().join("authgate.db").display()
        ));
        cfg.key_reload_interval_secs = 1;
        let settings = config::validate(cfg).expect("valid test config");
        let store = authgate_authority::store_open::open(&settings.database_url)
            .await
            .expect("open store");
        let running = serve::start_with_rng(settings, store.clone(), listener, rng)
            .await
            .expect("start");
        Self {
            base: format!("http://{authority}{issuer_path}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            store,
            running: Some(running),
            _dir: dir,
        }
    }

    pub fn state(&self) -> &authgate_server::state::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The origin (no issuer path), for root-level paths like /.well-known.
    pub fn origin(&self) -> String {
        let rest = self.base.trim_start_matches("http://");
        format!("http://{}", rest.split('/').next().unwrap_or(rest))
    }

    pub async fn token_form(
        &self,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.post(self.url("/token")).form(form);
        if let Some((id, sec)) = basic {
            req = req.basic_auth(id, Some(sec));
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        (status, body, headers)
    }

    /// A client credentials token for `svc`.
    pub async fn svc_token(&self, scope: &str) -> String {
        let (s, body, _) = self
            .token_form(
                Some(("svc", SVC_SECRET)),
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("resource", WEATHER_URI),
                ],
            )
            .await;
        assert_eq!(s, 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

pub fn decode_segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("segment");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}
