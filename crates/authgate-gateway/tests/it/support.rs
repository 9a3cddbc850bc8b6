//! The harness: a stand-in authorization server signing real tokens, the
//! gateway on an ephemeral port, and an upstream — the weather-mcp server
//! (rmcp) behind a layer that verifies the gateway's caller assertion, or
//! a raw TCP upstream for failure cases.

use authgate_gateway::{AUTHGATE_CALLER, CALLER_TYP, Gateway, MemorySink};
use authgate_resource::testing::TestAuthorizationServer;
use authgate_resource::{AuthClaims, Claims, ScopeImplications};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub const READ: &str = "weather:read";
pub const WRITE: &str = "weather:write";
pub const LEGACY: &str = "2025-06-18";

#[derive(Clone)]
pub struct Opts {
    pub list_filter: &'static str,
    pub unknown_tools: &'static str,
    pub timeout_ms: u64,
    pub max_body: usize,
    /// A policy file's contents (instead of the inline rules).
    pub policy_file: Option<String>,
    /// The upstream answers with JSON instead of SSE.
    pub json_response: bool,
    /// The 401 challenge's `scope`.
    pub baseline_scopes: &'static [&'static str],
    /// More upstream keys (prompt and resource rules…).
    pub extra: Value,
    pub cors_allowed_origins: &'static [&'static str],
    /// Serving threads (`Gateway::serve_workers`, as `authgate gateway`
    /// runs); 1 serves on the test's runtime (as inside `authgate serve`).
    pub workers: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            list_filter: "hide",
            unknown_tools: "deny",
            timeout_ms: 5000,
            max_body: 64 * 1024,
            policy_file: None,
            json_response: false,
            baseline_scopes: &[],
            extra: json!({}),
            cors_allowed_origins: &[],
            workers: 1,
        }
    }
}

pub struct Harness {
    pub auth: TestAuthorizationServer,
    /// The public URL (the tokens' audience).
    pub url: String,
    /// `http://<gateway address>`.
    pub base: String,
    pub upstream_url: String,
    pub audit: Arc<MemorySink>,
    /// Headers of the requests the weather upstream received.
    pub seen: Arc<Mutex<Vec<HeaderMap>>>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    pub fn token(&self, scopes: &[&str]) -> String {
        self.auth.token(&self.url, scopes)
    }

    /// POSTs a JSON-RPC body with the legacy protocol version (no
    /// standard headers) plus `extra` headers.
    pub async fn post(
        &self,
        token: Option<&str>,
        body: &Value,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string());
        if !extra.iter().any(|(k, _)| *k == "mcp-protocol-version") {
            r = r.header("mcp-protocol-version", LEGACY);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        r.send().await.unwrap()
    }

    /// Tells the gateway to stop (as SIGTERM would), without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the gateway (as SIGTERM would) and waits for it.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        self.signal_stop();
        match self.task.take() {
            Some(t) => t.await.unwrap(),
            None => Ok(()),
        }
    }
}

pub fn call(id: i64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":args}})
}

pub fn list(id: i64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/list","params":{}})
}

/// The JSON-RPC messages of a response, whether JSON or SSE.
pub async fn messages(resp: reqwest::Response) -> Vec<Value> {
    let sse = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let text = resp.text().await.unwrap();
    if !sse {
        return match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Array(a) => a,
            v => vec![v],
        };
    }
    text.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.trim_start())
                .collect();
            (!data.is_empty() && !data.concat().is_empty())
                .then(|| serde_json::from_str(&data.join("\n")).unwrap())
        })
        .collect()
}

/// The `WWW-Authenticate` of a response ("" when none).
pub fn www(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn tool_names(list_answer: &Value) -> Vec<String> {
    let mut v: Vec<String> = list_answer["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// The inline rules used unless a policy file is given.
fn rules() -> Value {
    json!([
        {"name": "get_*", "scopes": [READ], "log_arguments": true},
        {"name": "set_alert", "scopes": [WRITE]},
        {"name": "whoami", "scopes": []},
    ])
}

/// The weather-mcp server (rmcp, stateless) as the upstream.
pub async fn weather(opts: Opts) -> Harness {
    let up = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = up.local_addr().unwrap();
    let gw = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw_addr = gw.local_addr().unwrap();
    let upstream_url = format!("http://{up_addr}/mcp");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let verifier = Verifier {
        jwks_url: format!("http://{gw_addr}/.well-known/jwks.json"),
        iss: format!("http://{gw_addr}"),
        aud: upstream_url.clone(),
        seen: seen.clone(),
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(opts.json_response)
        .with_allowed_hosts(["127.0.0.1".to_owned(), up_addr.to_string()]);
    let server = weather_mcp::WeatherServer::new(false);
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app =
        axum::Router::new()
            .route_service("/mcp", mcp)
            .layer(axum::middleware::from_fn_with_state(
                verifier,
                verify_caller,
            ));
    tokio::spawn(async move {
        let _ = axum::serve(up, app).await;
    });
    start(gw, gw_addr, upstream_url, opts, seen).await
}

/// The gateway in front of `upstream_url` (a raw upstream of the test's).
pub async fn gateway(upstream_url: String, opts: Opts) -> Harness {
    let gw = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw_addr = gw.local_addr().unwrap();
    start(gw, gw_addr, upstream_url, opts, Arc::default()).await
}

async fn start(
    gw: TcpListener,
    gw_addr: SocketAddr,
    upstream_url: String,
    opts: Opts,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
) -> Harness {
    let auth = TestAuthorizationServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{gw_addr}/weather/mcp");
    let mut up = json!({
        "name": "weather",
        "public_url": url,
        "upstream_url": upstream_url,
        "issuer": auth.issuer(),
        "scopes_supported": [READ, WRITE],
        "scope_implies": {"weather:admin": [WRITE]},
        "unknown_tools": opts.unknown_tools,
        "list_filter": opts.list_filter,
        "baseline_scopes": opts.baseline_scopes,
    });
    if let (Some(u), Some(e)) = (up.as_object_mut(), opts.extra.as_object()) {
        u.extend(e.clone());
    }
    match &opts.policy_file {
        Some(text) => {
            std::fs::write(dir.path().join("policy.toml"), text).unwrap();
            up["policy_file"] = json!("policy.toml");
        }
        None => up["tools"] = rules(),
    }
    let value = json!({
        "listen": gw_addr.to_string(),
        "signing_key_file": "keys/signing-key.pem",
        "max_body_bytes": opts.max_body,
        "upstream_timeout_ms": opts.timeout_ms,
        "shutdown_grace_ms": 2000,
        "cors_allowed_origins": opts.cors_allowed_origins,
        "upstreams": [up],
    });
    let settings = authgate_gateway::config::from_value(value, Some(dir.path())).unwrap();
    let audit = Arc::new(MemorySink::default());
    let gateway = Gateway::new(&settings, audit.clone()).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gateway.serve_workers(gw, opts.workers, async move {
        let _ = rx.await;
    }));
    Harness {
        auth,
        url,
        base: format!("http://{gw_addr}"),
        upstream_url,
        audit,
        seen,
        dir,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap(),
        stop: Some(tx),
        task: Some(task),
    }
}

/// What an upstream checks: the caller assertion against the gateway's
/// JWKS (as a TypeScript or Python upstream does with jose / PyJWT).
#[derive(Clone)]
struct Verifier {
    jwks_url: String,
    iss: String,
    aud: String,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

/// Verifies `Authgate-Caller` and hands the tools the caller's claims.
async fn verify_caller(State(v): State<Verifier>, mut req: Request, next: Next) -> Response {
    // The gateway's readiness probes (GET, no assertion) are not counted.
    if req.headers().contains_key(AUTHGATE_CALLER) || req.method() != axum::http::Method::GET {
        v.seen.lock().unwrap().push(req.headers().clone());
    }
    let Some(jwt) = req
        .headers()
        .get(AUTHGATE_CALLER)
        .and_then(|h| h.to_str().ok())
    else {
        return (StatusCode::UNAUTHORIZED, "no caller assertion").into_response();
    };
    match verify(&v, jwt).await {
        Ok(claims) => {
            req.extensions_mut().insert(AuthClaims(Arc::new(claims)));
            next.run(req).await
        }
        Err(e) => (StatusCode::UNAUTHORIZED, e).into_response(),
    }
}

/// Verifies a caller assertion; the claims as the weather tools expect them.
pub async fn verify_assertion(
    jwks_url: &str,
    iss: &str,
    aud: &str,
    jwt: &str,
) -> Result<Value, String> {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(jwks_url)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != Some(CALLER_TYP) {
        return Err(format!("typ {:?}", header.typ));
    }
    let jwk = jwks
        .find(header.kid.as_deref().unwrap_or(""))
        .ok_or("unknown kid")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[iss]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(jwt, &key, &validation).map_err(|e| e.to_string())?;
    Ok(data.claims)
}

async fn verify(v: &Verifier, jwt: &str) -> Result<Claims, String> {
    let c = verify_assertion(&v.jwks_url, &v.iss, &v.aud, jwt).await?;
    let mut implications = ScopeImplications::new();
    implications.add(WRITE, [READ]);
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    Ok(Claims::new(
        s("iss"),
        s("sub"),
        s("client_id"),
        s("aud"),
        s("scope")
            .split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        c["iat"].as_i64().unwrap_or(0),
        c["exp"].as_i64().unwrap_or(0),
        &implications,
    ))
}

/// A raw upstream: runs `handler` for each accepted connection.
pub async fn raw_upstream<F, Fut>(handler: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(handler(s));
        }
    });
    format!("http://{addr}/mcp")
}

/// Reads one request head (and a Content-Length body) off `s`; returns the
/// head as text.
pub async fn read_request(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())
                        .flatten()
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return head;
        }
    }
    String::new()
}
