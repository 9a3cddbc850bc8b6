//! Client ID metadata documents served by a local HTTP server on 127.0.0.1
//! (`cimd.allow_loopback = true`, the test-only switch): fetched, cached,
//! refused for every rule the draft sets, SSRF-guarded without the switch,
//! host rules honoured, and usable for a whole authorization.

use crate::browser::{self, Browser, CHALLENGE, REDIRECT, VERIFIER};
use crate::support::*;
use authgate_core::model::ClientKind;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A local server for client metadata documents (and client JWKS). Every
/// document's `client_id` is built from the request's Host header, so the
/// same document works as `http://127.0.0.1:P/…` and `http://localhost:P/…`.
pub struct DocServer {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    hits: Mutex<HashMap<String, usize>>,
    jwks: Mutex<Value>,
    extra: Mutex<HashMap<String, Value>>,
}

fn doc(id: &str) -> Value {
    json!({
        "client_id": id,
        "client_name": "Doc Client",
        "client_uri": "https://doc-client.example/",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn json_response(v: &Value, cache: Option<&str>, content_type: &str) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    if let Some(c) = cache {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, c.parse().unwrap());
    }
    r
}

async fn serve(State(s): State<Arc<Inner>>, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path().to_string();
    let n = {
        let mut h = s.hits.lock().unwrap();
        let e = h.entry(path.clone()).or_insert(0);
        *e += 1;
        *e
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let id = format!("http://{host}{path}");
    let extra = s.extra.lock().unwrap().get(&path).cloned();
    if let Some(mut v) = extra {
        v["client_id"] = json!(id);
        return json_response(&v, None, "application/json");
    }
    match path.as_str() {
        "/good.json" | "/good2.json" => {
            json_response(&doc(&id), Some("max-age=600"), "application/json")
        }
        "/plus.json" => json_response(
            &doc(&id),
            None,
            "application/oauth-client-metadata+json; charset=utf-8",
        ),
        "/redirect.json" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/good2.json")],
            "moved",
        )
            .into_response(),
        "/other.json" => json_response(
            &doc(&format!("http://{host}/good.json")),
            None,
            "application/json",
        ),
        "/big.json" => {
            let mut v = doc(&id);
            v["padding"] = json!("x".repeat(100 * 1024));
            json_response(&v, None, "application/json")
        }
        "/slow.json" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json_response(&doc(&id), None, "application/json")
        }
        "/html.json" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>hello</html>",
        )
            .into_response(),
        "/secret.json" => {
            let mut v = doc(&id);
            v["client_secret"] = json!("s3cret");
            json_response(&v, None, "application/json")
        }
        "/flaky.json" if n == 1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "/flaky.json" => json_response(&doc(&id), None, "application/json"),
        "/jwks.json" => json_response(&s.jwks.lock().unwrap(), None, "application/json"),
        _ => (StatusCode::NOT_FOUND, "no").into_response(),
    }
}

impl DocServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner }
    }

    /// `http://127.0.0.1:P<path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://localhost:P<path>`
    pub fn localhost_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }

    pub fn hits(&self, path: &str) -> usize {
        self.inner
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn set_jwks(&self, v: Value) {
        *self.inner.jwks.lock().unwrap() = v;
    }

    /// Serves `doc` (its client_id replaced by the URL) at `path`.
    pub fn set_document(&self, path: &str, doc: Value) {
        self.inner
            .extra
            .lock()
            .unwrap()
            .insert(path.to_string(), doc);
    }
}

pub fn loopback_config() -> authgate_authority::config::Config {
    let mut cfg = default_config();
    cfg.cimd.allow_loopback = true;
    cfg.cimd.timeout_ms = 1000;
    cfg.cimd.connect_timeout_ms = 500;
    cfg
}

/// GET /authorize for `client_id` asking for JSON errors: status, body,
/// Location.
async fn authorize(app: &TestApp, client_id: &str) -> (u16, Value, Option<String>) {
    let url = browser::authorize_url(app, &[("client_id", client_id)]);
    let r = app
        .http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body, loc)
}

async fn refused(app: &TestApp, client_id: &str, why: &str) {
    let (s, body, _) = authorize(app, client_id).await;
    assert_eq!(s, 401, "{client_id}: {body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let d = body["error_description"].as_str().unwrap_or("");
    assert!(d.contains(why), "{client_id}: expected {why:?} in {d:?}");
}

#[tokio::test]
async fn document_is_fetched_cached_and_stored() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;
    let id = docs.url("/good.json");

    let (s, body, loc) = authorize(&app, &id).await;
    assert_eq!(s, 303, "{body}");
    assert!(loc.unwrap().contains("/login"));
    assert_eq!(docs.hits("/good.json"), 1);
    // Cached (max-age=600): no second fetch.
    for _ in 0..3 {
        let (s, _, _) = authorize(&app, &id).await;
        assert_eq!(s, 303);
    }
    assert_eq!(docs.hits("/good.json"), 1);

    // Named in requests only: nothing stored (no write before proof).
    assert!(app.store.get_client(&id).await.unwrap().is_none());
    // Once it proves itself (a code is issued to it) it is stored as a
    // metadata document client, visible to `client list`.
    authgate_authority::cimd::remember(app.state(), &id).await;
    let row = app.store.get_client(&id).await.unwrap().expect("row");
    assert_eq!(row.kind, ClientKind::MetadataDocument);
    assert_eq!(row.metadata.redirect_uris, vec![REDIRECT.to_string()]);
    assert_eq!(row.metadata.client_name.as_deref(), Some("Doc Client"));
    assert!(row.secret_hash.is_none());

    // A redirect URI the document does not list is refused.
    let url = browser::authorize_url(
        &app,
        &[
            ("client_id", id.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ],
    );
    let r = app.http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Blocking the stored row refuses it at once, even though cached.
    let mut blocked = row.clone();
    blocked.blocked = true;
    app.store.update_client(&blocked).await.unwrap();
    app.state().registry.invalidate_client(&id);
    refused(&app, &id, "blocked").await;
    assert_eq!(docs.hits("/good.json"), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn structured_json_media_type_is_accepted() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;
    let (s, body, _) = authorize(&app, &docs.url("/plus.json")).await;
    assert_eq!(s, 303, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_documents_are_refused_with_a_reason() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;

    refused(&app, &docs.url("/redirect.json"), "redirect").await;
    assert_eq!(docs.hits("/good2.json"), 0, "the redirect was followed");
    refused(&app, &docs.url("/other.json"), "does not equal the URL").await;
    refused(&app, &docs.url("/big.json"), "larger than 65536 bytes").await;
    let started = std::time::Instant::now();
    refused(
        &app,
        &docs.url("/slow.json"),
        "did not arrive within 1000 ms",
    )
    .await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    refused(&app, &docs.url("/html.json"), "not JSON").await;
    refused(&app, &docs.url("/secret.json"), "client_secret").await;
    refused(&app, &docs.url("/missing.json"), "HTTP 404").await;
    // URL rules, before any fetch.
    refused(&app, &docs.url("/a/../good.json"), "dot segments").await;
    refused(&app, &format!("http://{}/", docs.addr), "path").await;
    refused(
        &app,
        &format!("{}#frag", docs.url("/good.json")),
        "fragment",
    )
    .await;

    // A failure is remembered for cimd.negative_cache_secs: the next
    // attempt is answered without fetching again (a failing document is
    // not fetched on every request naming it).
    refused(&app, &docs.url("/flaky.json"), "HTTP 500").await;
    refused(&app, &docs.url("/flaky.json"), "HTTP 500").await;
    assert_eq!(docs.hits("/flaky.json"), 1);
    // So is a refused document.
    refused(&app, &docs.url("/secret.json"), "client_secret").await;
    assert_eq!(docs.hits("/secret.json"), 1);

    // A refused document leaves no client row behind.
    assert!(
        app.store
            .get_client(&docs.url("/secret.json"))
            .await
            .unwrap()
            .is_none()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn documents_declaring_secret_methods_or_keyless_private_key_jwt_are_refused() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;
    let mut d = doc("");
    d["token_endpoint_auth_method"] = json!("client_secret_basic");
    docs.set_document("/basic.json", d);
    refused(&app, &docs.url("/basic.json"), "shared secret").await;
    let mut d = doc("");
    d["token_endpoint_auth_method"] = json!("private_key_jwt");
    docs.set_document("/nokeys.json", d);
    refused(&app, &docs.url("/nokeys.json"), "jwks").await;
    let mut d = doc("");
    d.as_object_mut().unwrap().remove("redirect_uris");
    docs.set_document("/noredirect.json", d);
    refused(&app, &docs.url("/noredirect.json"), "redirect_uris").await;
    app.shutdown().await;
}

#[tokio::test]
async fn special_use_addresses_are_refused_without_the_test_switch() {
    let docs = DocServer::start().await;
    let mut cfg = default_config();
    cfg.cimd.allow_loopback = false;
    let app = TestApp::start_with(cfg, "").await;
    let port = docs.addr.port();
    // A name resolving to 127.0.0.1 (checked in the resolver)…
    refused(
        &app,
        &format!("https://localhost:{port}/good.json"),
        "special-use address",
    )
    .await;
    // …and IP literals, including an IPv4-mapped IPv6 spelling.
    refused(
        &app,
        &format!("https://127.0.0.1:{port}/good.json"),
        "special-use address",
    )
    .await;
    refused(
        &app,
        &format!("https://[::ffff:7f00:1]:{port}/good.json"),
        "special-use address",
    )
    .await;
    refused(
        &app,
        "https://169.254.169.254/latest/meta-data",
        "special-use address",
    )
    .await;
    refused(&app, "https://10.1.2.3/client.json", "special-use address").await;
    // Plain http is never fetched without the switch.
    let (s, _, _) = authorize(&app, &docs.url("/good.json")).await;
    assert_ne!(s, 303);
    assert_eq!(docs.hits("/good.json"), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn trusted_hosts_are_verified_others_not() {
    let docs = DocServer::start().await;
    let mut cfg = loopback_config();
    cfg.cimd.trusted_hosts = vec!["localhost".into()];
    let app = TestApp::start_with(cfg, "").await;
    let state = app.state();

    let trusted = authgate_authority::clients::resolve(state, &docs.localhost_url("/good.json"))
        .await
        .unwrap()
        .expect("client");
    let id = authgate_authority::clients::identity(state, &trusted);
    assert!(id.verified, "{id:?}");
    assert_eq!(id.host.as_deref(), Some("localhost"));
    assert!(id.how.contains("localhost"));

    let other = authgate_authority::clients::resolve(state, &docs.url("/good.json"))
        .await
        .unwrap()
        .expect("client");
    let id = authgate_authority::clients::identity(state, &other);
    assert!(!id.verified, "{id:?}");
    assert_eq!(id.host.as_deref(), Some("127.0.0.1"));
    app.shutdown().await;
}

#[tokio::test]
async fn denied_allowed_and_runtime_blocked_hosts() {
    let docs = DocServer::start().await;
    let mut cfg = loopback_config();
    cfg.cimd.deny_hosts = vec!["localhost".into()];
    let app = TestApp::start_with(cfg, "").await;
    refused(&app, &docs.localhost_url("/good.json"), "blocked").await;
    assert_eq!(docs.hits("/good.json"), 0);
    let (s, _, _) = authorize(&app, &docs.url("/good.json")).await;
    assert_eq!(s, 303);
    // `authgate client block-host 127.0.0.1` stores this row.
    let block = authgate_core::model::Client {
        client_id: authgate_authority::cimd::host_block_id("127.0.0.1"),
        kind: ClientKind::MetadataDocument,
        metadata: Default::default(),
        secret_hash: None,
        registration_access_token_hash: None,
        resources: vec![],
        allowed_scopes: None,
        blocked: true,
        registration_fingerprint: None,
        registration_count: 0,
        created_at: 0,
        last_used_at: None,
    };
    app.store.insert_client(&block).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await; // registry cache
    refused(&app, &docs.url("/good2.json"), "blocked").await;
    refused(&app, &docs.url("/good.json"), "blocked").await;
    app.shutdown().await;

    let mut cfg = loopback_config();
    cfg.cimd.allow_hosts = vec!["localhost".into()];
    let app = TestApp::start_with(cfg, "").await;
    refused(&app, &docs.url("/good.json"), "allow list").await;
    let (s, body, _) = authorize(&app, &docs.localhost_url("/good.json")).await;
    assert_eq!(s, 303, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn resource_switch_refuses_metadata_document_clients() {
    let docs = DocServer::start().await;
    let mut cfg = loopback_config();
    for r in &mut cfg.resources {
        r.allow_client_id_metadata_documents = false;
    }
    let app = TestApp::start_with(cfg, "").await;
    let (s, _, loc) = authorize(&app, &docs.url("/good.json")).await;
    assert_eq!(s, 303);
    let loc = loc.unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert!(loc.contains("error=unauthorized_client"), "{loc}");
    app.shutdown().await;
}

#[tokio::test]
async fn metadata_document_client_completes_an_authorization() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;
    browser::add_user(&app, "ada@example.com").await;
    let id = docs.url("/good.json");
    let b = Browser::new();

    // The consent page names the document's host.
    let p = b
        .get(&browser::authorize_url(&app, &[("client_id", id.as_str())]))
        .await;
    let login = b
        .get(&browser::abs(&app, p.location.as_deref().unwrap()))
        .await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", "ada@example.com"),
                ("password", browser::PASSWORD),
            ],
        )
        .await;
    let consent = b
        .get(&browser::abs(&app, p.location.as_deref().unwrap()))
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    // Not stored before the person approves it.
    assert!(app.store.get_client(&id).await.unwrap().is_none());
    assert!(
        consent.body.contains("metadata document at 127.0.0.1"),
        "{}",
        consent.body
    );
    assert!(consent.body.contains("Doc Client"));
    let p = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    let q = p.query();
    let code = q.get("code").expect("code");
    let row = app.store.get_client(&id).await.unwrap();
    assert_eq!(
        row.map(|r| r.kind),
        Some(ClientKind::MetadataDocument),
        "stored once a code was issued"
    );
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", id.as_str()),
                ("code", code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(at, 1)["client_id"], id.as_str());
    let _ = CHALLENGE;
    // Refresh works from the stored row, without fetching again.
    let hits = docs.hits("/good.json");
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", id.as_str()),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(docs.hits("/good.json"), hits);
    app.shutdown().await;
}

#[tokio::test]
async fn stored_metadata_document_clients_are_capped() {
    let docs = DocServer::start().await;
    let mut cfg = loopback_config();
    cfg.cimd.max_clients = 1;
    let app = TestApp::start_with(cfg, "").await;
    let first = docs.url("/good.json");
    let (s, body, _) = authorize(&app, &first).await;
    assert_eq!(s, 303, "{body}");
    authgate_authority::cimd::remember(app.state(), &first).await;
    assert!(app.store.get_client(&first).await.unwrap().is_some());
    // Full: a new document client is refused, naming the key …
    refused(&app, &docs.url("/good2.json"), "cimd.max_clients").await;
    // … and nothing was stored for it.
    assert!(
        app.store
            .get_client(&docs.url("/good2.json"))
            .await
            .unwrap()
            .is_none()
    );
    // The stored one keeps working.
    let (s, body, _) = authorize(&app, &first).await;
    assert_eq!(s, 303, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn unused_metadata_document_clients_are_reaped_blocked_ones_kept() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(loopback_config(), "").await;
    let unused = docs.url("/good.json");
    let blocked = docs.url("/good2.json");
    for id in [&unused, &blocked] {
        let (s, body, _) = authorize(&app, id).await;
        assert_eq!(s, 303, "{body}");
        authgate_authority::cimd::remember(app.state(), id).await;
        // Created and last used long ago.
        let mut row = app.store.get_client(id).await.unwrap().expect("row");
        row.created_at = 0;
        row.last_used_at = None;
        row.blocked = *id == blocked;
        app.store.update_client(&row).await.unwrap();
    }
    authgate_server::serve::purge(app.state()).await;
    assert!(app.store.get_client(&unused).await.unwrap().is_none());
    assert!(app.store.get_client(&blocked).await.unwrap().is_some());
    app.shutdown().await;
}
