//! `private_key_jwt` client authentication (RFC 7523) at /token and
//! /introspect: a valid assertion is accepted; wrong audience, expired,
//! replayed `jti`, another key, or a far-future `exp` are refused with 401
//! `invalid_client`. Keys inline (`jwks`) or fetched (`jwks_uri`).

use crate::cimd::{DocServer, loopback_config};
use crate::registration::register;
use crate::support::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

enum Key {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct Signer {
    key: Key,
    kid: String,
}

impl Signer {
    fn ec(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        Self {
            key: Key::Ec(kp),
            kid: kid.into(),
        }
    }

    fn ed(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Self {
            key: Key::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()),
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Value {
        match &self.key {
            Key::Ec(kp) => {
                let pt = kp.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig",
                    "x": URL_SAFE_NO_PAD.encode(&pt[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&pt[33..])})
            }
            Key::Ed(kp) => json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid,
                "x": URL_SAFE_NO_PAD.encode(kp.public_key().as_ref())}),
        }
    }

    fn alg(&self) -> &'static str {
        match self.key {
            Key::Ec(_) => "ES256",
            Key::Ed(_) => "EdDSA",
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "kid": self.kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = match &self.key {
            Key::Ec(kp) => kp
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            Key::Ed(kp) => kp.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// Every MCP server gives dynamic and metadata document clients machine
/// tokens (off by default since issue 17).
fn dynamic_cc(mut cfg: authgate_authority::config::Config) -> authgate_authority::config::Config {
    for r in &mut cfg.resources {
        r.allow_dynamic_client_credentials = true;
    }
    cfg
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(client_id: &str, aud: &str, exp_in: i64) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now(),
        "exp": now() + exp_in,
        "jti": authgate_core::secret::generate_id(&authgate_core::random::OsRandom::new()).unwrap(),
    })
}

async fn register_pkjwt(app: &TestApp, keys: Value) -> String {
    let mut body = json!({
        "client_name": "Backend worker",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": "weather:read",
    });
    match keys {
        Value::String(uri) => body["jwks_uri"] = json!(uri),
        jwks => body["jwks"] = jwks,
    }
    let (s, reg, _) = register(app, &body).await;
    assert_eq!(s, 201, "{reg}");
    assert!(reg.get("client_secret").is_none(), "{reg}");
    reg["client_id"].as_str().unwrap().to_string()
}

async fn cc_token(app: &TestApp, assertion: &str) -> (u16, Value) {
    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
                ("scope", "weather:read"),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    (s, b)
}

fn refused(s: u16, body: &Value, needle: &str) {
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let d = body["error_description"].as_str().unwrap_or("");
    assert!(d.contains(needle), "{needle:?} not in {d:?}");
}

#[tokio::test]
async fn valid_assertions_work_at_token_and_introspection() {
    let app = TestApp::start_with(dynamic_cc(default_config()), "").await;
    let signer = Signer::ec("k1");
    let id = register_pkjwt(&app, json!({"keys": [signer.jwk()]})).await;

    let (s, tok) = cc_token(&app, &signer.sign(&claims(&id, &app.base, 60))).await;
    assert_eq!(s, 200, "{tok}");
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(at, 1)["client_id"], id.as_str());

    // The issuer as the only member of a list works too, at /introspect.
    let mut c = claims(&id, &app.base, 60);
    c["aud"] = json!([app.base]);
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[
            ("token", at),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &signer.sign(&c)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], id.as_str());

    // Without an assertion the client cannot authenticate.
    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    refused(s, &b, "private_key_jwt");
    app.shutdown().await;
}

/// The audience must be exactly the issuer: an assertion listing other
/// audiences beside it (audience injection: one made for another server
/// could be replayed here) or naming the token endpoint is refused, and
/// the error says what is expected.
#[tokio::test]
async fn assertion_audience_must_be_exactly_the_issuer() {
    let app = TestApp::start_with(dynamic_cc(default_config()), "").await;
    let signer = Signer::ec("k1");
    let id = register_pkjwt(&app, json!({"keys": [signer.jwk()]})).await;
    let expected = format!("aud must be the issuer {}", app.base);
    let with_aud = |aud: Value| {
        let mut c = claims(&id, &app.base, 60);
        c["aud"] = aud;
        signer.sign(&c)
    };
    for aud in [
        json!([app.base, "https://other.example"]),
        json!(["https://other.example", app.base]),
        json!([app.base, app.base]),
        json!(app.url("/token")),
        json!([app.url("/token")]),
        json!(format!("{}/", app.base)),
        json!([]),
        json!(null),
        json!(7),
    ] {
        let (s, b) = cc_token(&app, &with_aud(aud.clone())).await;
        assert_eq!(s, 401, "{aud}: {b}");
        refused(s, &b, &expected);
    }
    let (s, b) = cc_token(&app, &with_aud(json!(app.base))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = cc_token(&app, &with_aud(json!([app.base]))).await;
    assert_eq!(s, 200, "{b}");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_assertions_are_refused() {
    let app = TestApp::start_with(dynamic_cc(default_config()), "").await;
    let signer = Signer::ec("k1");
    let id = register_pkjwt(&app, json!({"keys": [signer.jwk()]})).await;
    let issuer = app.base.clone();

    let (s, b) = cc_token(
        &app,
        &signer.sign(&claims(&id, "https://other.example/token", 60)),
    )
    .await;
    refused(s, &b, "aud");
    let (s, b) = cc_token(&app, &signer.sign(&claims(&id, &issuer, -120))).await;
    refused(s, &b, "expired");
    let (s, b) = cc_token(&app, &signer.sign(&claims(&id, &issuer, 3600))).await;
    refused(s, &b, "too far in the future");
    let mut no_exp = claims(&id, &issuer, 60);
    no_exp.as_object_mut().unwrap().remove("exp");
    let (s, b) = cc_token(&app, &signer.sign(&no_exp)).await;
    refused(s, &b, "exp");
    let mut no_jti = claims(&id, &issuer, 60);
    no_jti.as_object_mut().unwrap().remove("jti");
    let (s, b) = cc_token(&app, &signer.sign(&no_jti)).await;
    refused(s, &b, "jti");
    let mut wrong_iss = claims(&id, &issuer, 60);
    wrong_iss["iss"] = json!("someone-else");
    let (s, b) = cc_token(&app, &signer.sign(&wrong_iss)).await;
    refused(s, &b, "iss");

    // Another key with the same kid: the signature does not verify.
    let impostor = Signer::ec("k1");
    let (s, b) = cc_token(&app, &impostor.sign(&claims(&id, &issuer, 60))).await;
    refused(s, &b, "signature");
    // A key type the client did not register (algorithm pinned to the JWK).
    let ed = Signer::ed("k1");
    let (s, b) = cc_token(&app, &ed.sign(&claims(&id, &issuer, 60))).await;
    refused(s, &b, "signature");
    // alg none / HS256 never.
    let c = claims(&id, &issuer, 60);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    let (s, b) = cc_token(&app, &none).await;
    refused(s, &b, "algorithm");
    let (s, b) = cc_token(&app, "not-a-jwt").await;
    refused(s, &b, "well-formed");

    // Replay: the same assertion works once.
    let once = signer.sign(&claims(&id, &issuer, 60));
    let (s, b) = cc_token(&app, &once).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = cc_token(&app, &once).await;
    refused(s, &b, "already used");

    // Wrong assertion type.
    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:other"),
                ("client_assertion", &signer.sign(&claims(&id, &issuer, 60))),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    refused(s, &b, "client_assertion_type");
    app.shutdown().await;
}

#[tokio::test]
async fn keys_from_jwks_uri_are_fetched_and_rotated() {
    let docs = DocServer::start().await;
    let app = TestApp::start_with(dynamic_cc(loopback_config()), "").await;
    let first = Signer::ed("one");
    docs.set_jwks(json!({"keys": [first.jwk()]}));
    let id = register_pkjwt(&app, json!(docs.url("/jwks.json"))).await;
    let issuer = app.base.clone();

    let (s, b) = cc_token(&app, &first.sign(&claims(&id, &issuer, 60))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = cc_token(&app, &first.sign(&claims(&id, &issuer, 60))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(docs.hits("/jwks.json"), 1, "the key set is cached");

    // A key the cached set does not know, signed by an unpublished key:
    // refused, with at most one refetch.
    let rogue = Signer::ec("two");
    let (s, b) = cc_token(&app, &rogue.sign(&claims(&id, &issuer, 60))).await;
    refused(s, &b, "signature");
    assert_eq!(docs.hits("/jwks.json"), 1, "refetch at most once a minute");
    app.shutdown().await;
}

#[tokio::test]
async fn discovery_lists_private_key_jwt() {
    let app = TestApp::start().await;
    let meta: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    assert!(methods.contains(&json!("none")));
    let algs = meta["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("ES256")) && !algs.contains(&json!("HS256")));
    assert_eq!(meta["registration_endpoint"], app.url("/register"));
    app.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_respects_the_resource_switch_for_dynamic_clients() {
    let mut cfg = dynamic_cc(default_config());
    cfg.resources[0].allow_dynamic_registration = false; // weather
    let app = TestApp::start_with(cfg, "").await;
    let signer = Signer::ec("k1");
    let mut body = json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [signer.jwk()]},
    });
    body["client_name"] = json!("worker");
    let (s, reg, _) = register(&app, &body).await;
    assert_eq!(s, 201, "{reg}");
    let id = reg["client_id"].as_str().unwrap();
    let issuer = app.base.clone();

    let (s, b) = cc_token(&app, &signer.sign(&claims(id, &issuer, 60))).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], "unauthorized_client");

    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &signer.sign(&claims(id, &issuer, 60))),
                ("resource", NOTES_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    app.shutdown().await;
}

async fn doc_cc(app: &TestApp, signer: &Signer, id: &str, scope: &str) -> (u16, Value) {
    let assertion = signer.sign(&claims(id, &app.base, 60));
    let (s, b, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
                ("scope", scope),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    (s, b)
}

/// Issue 17: a client ID metadata document with `private_key_jwt` and
/// `client_credentials` gets no machine token unless the MCP server opts
/// in, and then no more than the `scope` its document registers.
#[tokio::test]
async fn metadata_document_machine_clients_need_the_switch_and_keep_their_scope() {
    let docs = DocServer::start().await;
    let signer = Signer::ec("k1");
    docs.set_document(
        "/worker.json",
        json!({
            "client_name": "Doc worker",
            // Metadata documents always carry redirect URIs.
            "redirect_uris": [crate::browser::REDIRECT],
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [signer.jwk()]},
            "scope": "weather:read",
        }),
    );
    let id = docs.url("/worker.json");
    // Off by default.
    let app = TestApp::start_with(loopback_config(), "").await;
    let (s, b) = doc_cc(&app, &signer, &id, "weather:read").await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], "unauthorized_client", "{b}");
    app.shutdown().await;

    // Opted in: within the document's scope only.
    let app = TestApp::start_with(dynamic_cc(loopback_config()), "").await;
    let (s, b) = doc_cc(&app, &signer, &id, "weather:write").await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], "invalid_scope", "{b}");
    let (s, b) = doc_cc(&app, &signer, &id, "weather:read").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "weather:read");
    app.shutdown().await;
}
