//! The benchmark's floor: the same request shape as authgate's `POST /token`
//! for client credentials (an urlencoded form plus `Authorization: Basic`,
//! answered with a small token-shaped JSON body), and nothing else. It shows
//! what HTTP, form parsing and JSON cost on this machine, so the other targets'
//! numbers can be read against it.
//!
//! It does no cryptography and keeps no state: the access token in the answer
//! is built once at start-up (a JWT-shaped string with the same header and
//! claims the load generator checks, and a dummy signature).
//!
//! Usage: `bench-floor [--listen 127.0.0.1:18082]`; the client, resource and
//! scope come from `BENCH_CLIENT_ID`, `BENCH_CLIENT_SECRET`, `BENCH_RESOURCE`
//! and `BENCH_SCOPE` (the runner sets them).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;

struct Floor {
    /// `Basic base64(id:secret)`, compared as bytes.
    expected_authorization: Vec<u8>,
    resource: String,
    scope: String,
    token_body: String,
    metadata_body: String,
    jwks_body: String,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    json(status, format!(r#"{{"error":"{code}"}}"#))
}

async fn token(
    State(floor): State<Arc<Floor>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == floor.expected_authorization.as_slice());
    if !authorized {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if form
        .resource
        .as_deref()
        .is_some_and(|r| r != floor.resource)
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    }
    if form
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|one| one != floor.scope))
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    json(StatusCode::OK, floor.token_body.clone())
}

async fn metadata(State(floor): State<Arc<Floor>>) -> Response {
    json(StatusCode::OK, floor.metadata_body.clone())
}

async fn jwks(State(floor): State<Arc<Floor>>) -> Response {
    json(StatusCode::OK, floor.jwks_body.clone())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = "127.0.0.1:18082".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs a value")?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let addr: SocketAddr = listen.parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!("the floor listens on loopback only, not {addr}").into());
    }

    let client_id = env_or("BENCH_CLIENT_ID", "bench-client");
    let client_secret = env_or(
        "BENCH_CLIENT_SECRET",
        "bench-secret-0123456789abcdef0123456789abcdef",
    );
    let resource = env_or("BENCH_RESOURCE", "http://127.0.0.1:19999/mcp");
    let scope = env_or("BENCH_SCOPE", "mcp:read");
    let issuer = format!("http://{addr}");

    // A token of the same shape and size as an ES256 JWT access token.
    let jwt_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"floor"}"#);
    let claims = format!(
        r#"{{"iss":"{issuer}","sub":"{client_id}","aud":"{resource}","client_id":"{client_id}","scope":"{scope}","iat":1700000000,"exp":4102444800,"jti":"floor-static-token-identifier-0000000000"}}"#
    );
    let jwt = format!(
        "{jwt_header}.{}.{}",
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    );
    let floor = Arc::new(Floor {
        expected_authorization: format!("Basic {}", STANDARD.encode(format!("{client_id}:{client_secret}"))).into_bytes(),
        token_body: format!(r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600,"scope":"{scope}"}}"#),
        metadata_body: format!(
            r#"{{"issuer":"{issuer}","token_endpoint":"{issuer}/token","jwks_uri":"{issuer}/jwks.json","grant_types_supported":["client_credentials"],"token_endpoint_auth_methods_supported":["client_secret_basic"]}}"#
        ),
        jwks_body: r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"floor","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#.to_owned(),
        resource,
        scope,
    });

    let app = Router::new()
        .route("/token", post(token))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/jwks.json", get(jwks))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "floor listening on http://{addr} pid={}",
        std::process::id()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
