//! A stand-in authorization server for tests (feature `testing`).
//!
//! It listens on `127.0.0.1` on an ephemeral port, publishes RFC 8414
//! metadata, a JWKS and an RFC 7662 introspection endpoint, and signs RFC
//! 9068 access tokens with keys generated at start. Use it to test an MCP
//! server built on this crate without a real authorization server:
//!
//! ```no_run
//! # async fn t() {
//! use authgate_resource::{Validator, testing::TestAuthorizationServer};
//! let auth = TestAuthorizationServer::start().await;
//! let resource = "http://127.0.0.1:3000/mcp";
//! let validator = Validator::builder(auth.issuer(), resource).build().unwrap();
//! let token = auth.token(resource, &["weather:read"]);
//! assert!(validator.validate(&token).await.unwrap().has_scope("weather:read"));
//! # }
//! ```

// Test support (feature `testing`): a failed setup fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::Algorithm;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ed(Ed25519KeyPair),
}

/// A signing key with its public JWK.
pub struct TestKey {
    kid: String,
    alg: Algorithm,
    pair: Pair,
    rng: SystemRandom,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// Generates a key (RSA keys are 2048 bits).
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Self {
        let rng = SystemRandom::new();
        let pair = match alg {
            Algorithm::ES256 => {
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .expect("generate P-256 key");
                Pair::Ec(
                    EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        pkcs8.as_ref(),
                    )
                    .expect("parse P-256 key"),
                )
            }
            Algorithm::EdDSA => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("generate Ed25519 key");
                Pair::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("parse Ed25519 key"))
            }
            Algorithm::RS256 => Pair::Rsa(
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("generate RSA key"),
            ),
        };
        Self {
            kid: kid.into(),
            alg,
            pair,
            rng,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public key as aws-lc-rs expects it (uncompressed point, raw
    /// Ed25519 key, or DER RSAPublicKey).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Ec(k) => k.public_key().as_ref().to_vec(),
            Pair::Ed(k) => k.public_key().as_ref().to_vec(),
            Pair::Rsa(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// The public JWK (with `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match &self.pair {
            Pair::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty":"EC","crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..65]),
                       "kid":self.kid,"alg":"ES256","use":"sig"})
            }
            Pair::Ed(k) => json!({"kty":"OKP","crv":"Ed25519","x":b64(k.public_key().as_ref()),
                                  "kid":self.kid,"alg":"EdDSA","use":"sig"}),
            Pair::Rsa(k) => {
                let pk = k.public_key();
                json!({"kty":"RSA",
                       "n":b64(pk.modulus().big_endian_without_leading_zero()),
                       "e":b64(pk.exponent().big_endian_without_leading_zero()),
                       "kid":self.kid,"alg":"RS256","use":"sig"})
            }
        }
    }

    /// Signs `message` with this key.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Ec(k) => k
                .sign(&self.rng, message)
                .expect("ECDSA sign")
                .as_ref()
                .to_vec(),
            Pair::Ed(k) => k.sign(message).as_ref().to_vec(),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .expect("RSA sign");
                sig
            }
        }
    }

    /// A compact JWS of `claims` under exactly `header` (for forgeries:
    /// any header is signed as given).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.sign_bytes(out.as_bytes());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(sig));
        out
    }

    /// A compact JWS of `claims` with header `{alg, kid, typ: "at+jwt"}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": "at+jwt"}),
            claims,
        )
    }
}

struct AsState {
    issuer: String,
    keys: Mutex<Vec<Arc<TestKey>>>,
    jwks_requests: AtomicU64,
    introspection_requests: AtomicU64,
    revoked: Mutex<HashSet<String>>,
    issued: Mutex<HashMap<String, Value>>,
}

/// The client credentials the introspection endpoint accepts.
pub const INTROSPECTION_CLIENT: (&str, &str) = ("resource-server", "resource-secret");

/// The stand-in authorization server. Stops when dropped.
pub struct TestAuthorizationServer {
    state: Arc<AsState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestAuthorizationServer {
    /// Starts with one ES256 key, `kid` "key-1", issuer `http://127.0.0.1:<port>`.
    pub async fn start() -> Self {
        Self::start_with(Algorithm::ES256, "").await
    }

    /// Starts with one key of `alg`; `issuer_path` (e.g. `/tenant`, or
    /// empty) is appended to the issuer, and metadata is served at the
    /// path-inserted location.
    pub async fn start_with(alg: Algorithm, issuer_path: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::start_on(listener, alg, issuer_path)
    }

    /// Like [`start_with`](Self::start_with), on a listener of your own.
    pub fn start_on(listener: tokio::net::TcpListener, alg: Algorithm, issuer_path: &str) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let issuer = format!("http://{addr}{issuer_path}");
        let state = Arc::new(AsState {
            issuer,
            keys: Mutex::new(vec![Arc::new(TestKey::generate(alg, "key-1"))]),
            jwks_requests: AtomicU64::new(0),
            introspection_requests: AtomicU64::new(0),
            revoked: Mutex::default(),
            issued: Mutex::default(),
        });
        let app = Router::new()
            .route(
                &format!("/.well-known/oauth-authorization-server{issuer_path}"),
                get(metadata),
            )
            .route("/jwks", get(jwks))
            .route("/introspect", post(introspect))
            .with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The issuer identifier, as the metadata publishes it.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// JWKS documents served so far.
    pub fn jwks_requests(&self) -> u64 {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// Introspection requests served so far.
    pub fn introspection_requests(&self) -> u64 {
        self.state.introspection_requests.load(Ordering::SeqCst)
    }

    /// The key new tokens are signed with (the last added).
    pub fn signing_key(&self) -> Arc<TestKey> {
        self.state
            .keys
            .lock()
            .expect("keys")
            .last()
            .cloned()
            .expect("a key")
    }

    /// Rotation: publishes a new key and signs with it from now on. The
    /// old keys stay published unless `retire_old`.
    pub fn rotate(&self, alg: Algorithm, kid: &str, retire_old: bool) -> Arc<TestKey> {
        let key = Arc::new(TestKey::generate(alg, kid));
        let mut keys = self.state.keys.lock().expect("keys");
        if retire_old {
            keys.clear();
        }
        keys.push(key.clone());
        key
    }

    /// RFC 9068 claims valid now for `resource` with `scopes`.
    pub fn claims(&self, resource: &str, scopes: &[&str]) -> Value {
        let now = crate::unix_now();
        json!({
            "iss": self.issuer(),
            "sub": "user-1",
            "aud": resource,
            "client_id": "client-1",
            "scope": scopes.join(" "),
            "iat": now,
            "exp": now + 300,
            "jti": format!("jti-{}", URL_SAFE_NO_PAD.encode(now.to_be_bytes())),
        })
    }

    /// Signs `claims` with the signing key (and remembers the token for
    /// introspection).
    pub fn sign(&self, claims: &Value) -> String {
        let token = self.signing_key().sign(claims);
        self.state
            .issued
            .lock()
            .expect("issued")
            .insert(token.clone(), claims.clone());
        token
    }

    /// A valid token for `resource` with `scopes`.
    pub fn token(&self, resource: &str, scopes: &[&str]) -> String {
        self.sign(&self.claims(resource, scopes))
    }

    /// Makes introspection answer `active: false` for `token`.
    pub fn revoke(&self, token: &str) {
        self.state
            .revoked
            .lock()
            .expect("revoked")
            .insert(token.to_owned());
    }

    /// Stops the server and waits until it no longer listens.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestAuthorizationServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn metadata(State(s): State<Arc<AsState>>) -> Json<Value> {
    let base = s
        .issuer
        .find("://")
        .and_then(|i| s.issuer[i + 3..].find('/').map(|j| &s.issuer[..i + 3 + j]))
        .unwrap_or(&s.issuer);
    Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{base}/jwks"),
        "introspection_endpoint": format!("{base}/introspect"),
        "token_endpoint": format!("{base}/token"),
        "authorization_endpoint": format!("{base}/authorize"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(s): State<Arc<AsState>>) -> Json<Value> {
    s.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = s
        .keys
        .lock()
        .expect("keys")
        .iter()
        .map(|k| k.public_jwk())
        .collect();
    Json(json!({ "keys": keys }))
}

async fn introspect(
    State(s): State<Arc<AsState>>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    s.introspection_requests.fetch_add(1, Ordering::SeqCst);
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            INTROSPECTION_CLIENT.0, INTROSPECTION_CLIENT.1
        ))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let revoked = s.revoked.lock().expect("revoked").contains(&token);
    let claims = s.issued.lock().expect("issued").get(&token).cloned();
    match claims {
        Some(Value::Object(mut c)) if !revoked => {
            c.insert("active".into(), Value::Bool(true));
            // A `token_type` among the signed claims is answered as given
            // (to stand in for a server answering about a refresh token).
            c.entry("token_type").or_insert_with(|| "Bearer".into());
            (StatusCode::OK, Json(Value::Object(c)))
        }
        _ => (StatusCode::OK, Json(json!({"active": false}))),
    }
}
