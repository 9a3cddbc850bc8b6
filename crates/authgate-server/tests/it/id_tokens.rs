//! OIDC ID tokens: RS256 unless the client registered another
//! `id_token_signed_response_alg`, verifiable with the published JWKS,
//! across key rotation; and what a failing random generator does.

use crate::browser::*;
use crate::support::*;
use authgate_core::model::SigningAlg;
use authgate_core::random::{OsRandom, Random, RandomError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

async fn jwks(app: &TestApp) -> jsonwebtoken::jwk::JwkSet {
    app.http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies `id_token` with the JWKS key its header names, as an OIDC
/// client would, and returns its header alg and claims.
async fn verify_id_token(app: &TestApp, id_token: &str, client_id: &str) -> (String, Value) {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let set = jwks(app).await;
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("the ID token's key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[client_id]);
    v.set_issuer(&[app.base.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    let data = jsonwebtoken::decode::<Value>(id_token, &key, &v).expect("ID token verifies");
    let alg = decode_segment(id_token, 0)["alg"]
        .as_str()
        .unwrap()
        .to_owned();
    (alg, data.claims)
}

/// Registers a public client for `REDIRECT` with `extra` metadata.
async fn register(app: &TestApp, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "OIDC test client",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app
        .http
        .post(app.url("/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Signs in, consents and redeems the code for `client_id`: the token
/// response.
async fn code_flow(app: &TestApp, b: &Browser, client_id: &str) -> Value {
    let p = authorize_through(
        app,
        b,
        "ada@example.com",
        &[
            ("client_id", client_id),
            ("scope", "openid email weather:read"),
            ("nonce", "n-42"),
        ],
    )
    .await;
    let code = p.query()["code"].clone();
    let (s, tok, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{tok}");
    tok
}

#[tokio::test]
async fn id_tokens_are_rs256_by_default_and_access_tokens_keep_signing_alg() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let tok = code_flow(&app, &Browser::new(), "public").await;
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(at, 0)["alg"], "ES256");
    let id_token = tok["id_token"].as_str().unwrap();
    let (alg, claims) = verify_id_token(&app, id_token, "public").await;
    assert_eq!(alg, "RS256");
    assert_eq!(decode_segment(id_token, 0)["typ"], "JWT");
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(
        claims["at_hash"],
        authgate_core::signing::at_hash(SigningAlg::RS256, at)
    );
    app.shutdown().await;
}

/// How the person signed in travels from the session through the code and
/// the grant into every token: a password sign-in says `amr: ["pwd"]` in
/// the access token, the ID token and a refreshed access token, and names
/// no upstream connection or organization.
#[tokio::test]
async fn tokens_say_how_the_person_signed_in() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let tok = code_flow(&app, &Browser::new(), "public").await;
    let at = decode_segment(tok["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["amr"], json!(["pwd"]), "{at}");
    assert!(
        at.get("idp").is_none() && at.get("org_id").is_none(),
        "{at}"
    );
    let (_, id) = verify_id_token(&app, tok["id_token"].as_str().unwrap(), "public").await;
    assert_eq!(id["amr"], json!(["pwd"]), "{id}");
    assert!(id.get("acr").is_none(), "{id}");
    if let Some(rt) = tok["refresh_token"].as_str() {
        let (s, next, _) = app
            .token_form(
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", "public"),
                    ("refresh_token", rt),
                ],
            )
            .await;
        assert_eq!(s, 200, "{next}");
        let at2 = decode_segment(next["access_token"].as_str().unwrap(), 1);
        assert_eq!(at2["amr"], json!(["pwd"]), "the grant keeps it: {at2}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_client_gets_the_id_token_alg_it_registered() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    for alg in ["ES256", "EdDSA", "RS256"] {
        let (s, reg) = register(&app, json!({"id_token_signed_response_alg": alg})).await;
        assert_eq!(s, 201, "{reg}");
        assert_eq!(reg["id_token_signed_response_alg"], alg, "echoed");
        let client_id = reg["client_id"].as_str().unwrap();
        let tok = code_flow(&app, &Browser::new(), client_id).await;
        let (got, claims) =
            verify_id_token(&app, tok["id_token"].as_str().unwrap(), client_id).await;
        assert_eq!(got, alg);
        assert_eq!(claims["aud"], client_id);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn id_token_algs_authgate_cannot_sign_with_are_refused_at_registration() {
    let app = TestApp::start().await;
    for alg in [
        json!("none"),
        json!("HS256"),
        json!("RS512"),
        json!("es256"),
        json!(["RS256"]),
    ] {
        let (s, v) = register(&app, json!({"id_token_signed_response_alg": alg})).await;
        assert_eq!(s, 400, "{alg}: {v}");
        assert_eq!(v["error"], "invalid_client_metadata", "{alg}");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .starts_with("id_token_signed_response_alg"),
            "{v}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn rotation_replaces_the_id_token_key_and_keeps_the_old_one_published() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    let before = code_flow(&app, &Browser::new(), "public").await;
    let old_id_token = before["id_token"].as_str().unwrap().to_owned();
    let old_kid = decode_segment(&old_id_token, 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let st = app.state();
    authgate_authority::keys::rotate(
        app.store.as_ref(),
        &st.kek,
        st.settings.signing_alg,
        st.clock.now(),
        7200,
        &OsRandom::new(),
    )
    .await
    .unwrap();
    // One new key per algorithm, none retired; the old ones retired.
    let recs = app.store.list_signing_keys().await.unwrap();
    let live: Vec<_> = recs.iter().filter(|r| r.retired_at.is_none()).collect();
    let mut live_algs: Vec<_> = live.iter().map(|r| r.alg.as_str()).collect();
    live_algs.sort();
    assert_eq!(live_algs, ["ES256", "EdDSA", "RS256"]);
    assert_eq!(recs.len(), 6);

    // The server picks the rotation up within the reload interval.
    let mut after = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = code_flow(&app, &Browser::new(), "public").await;
        if decode_segment(after["id_token"].as_str().unwrap(), 0)["kid"] != old_kid.as_str() {
            break;
        }
    }
    let new_id_token = after["id_token"].as_str().unwrap();
    let (alg, _) = verify_id_token(&app, new_id_token, "public").await;
    assert_eq!(alg, "RS256");
    assert_ne!(decode_segment(new_id_token, 0)["kid"], old_kid.as_str());
    // The ID token signed before the rotation still verifies.
    verify_id_token(&app, &old_id_token, "public").await;

    // After the publication window every old key leaves the JWKS.
    let removed =
        authgate_authority::keys::purge_removed(app.store.as_ref(), st.clock.now() + 7201)
            .await
            .unwrap();
    assert_eq!(removed, 3);
    app.shutdown().await;
}

#[tokio::test]
async fn a_database_without_id_token_keys_gets_them_at_start() {
    let app = TestApp::start().await;
    let st = app.state();
    // A database from before ID tokens had their own keys: only the
    // access-token key.
    let access_kid = st.keys.current().active.kid().to_owned();
    for r in app.store.list_signing_keys().await.unwrap() {
        if r.kid != access_kid {
            app.store.delete_signing_key(&r.kid).await.unwrap();
        }
    }
    let km = authgate_authority::keys::KeyManager::start(
        app.store.as_ref(),
        st.kek.clone(),
        SigningAlg::ES256,
        st.clock.as_ref(),
        &OsRandom::new(),
    )
    .await
    .unwrap();
    let set = km.current();
    assert_eq!(set.active.kid(), access_kid, "the access-token key stays");
    let rs = set.id_token_key(SigningAlg::RS256).expect("an RS256 key");
    assert_ne!(rs.kid(), access_kid);
    assert_eq!(
        set.id_token_key(SigningAlg::ES256).map(|k| k.kid()),
        Some(access_kid.as_str()),
        "the ES256 access-token key also signs ES256 ID tokens"
    );
    let recs = app.store.list_signing_keys().await.unwrap();
    assert!(
        recs.iter()
            .any(|r| r.kid == rs.kid() && r.alg == SigningAlg::RS256),
        "the new RS256 key is stored (sealed) for the other instances"
    );
    app.shutdown().await;
}

/// A generator that can be switched to failing.
struct Flaky {
    fail: AtomicBool,
    inner: OsRandom,
}

impl Random for Flaky {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(RandomError);
        }
        self.inner.fill(dest)
    }
}

#[tokio::test]
async fn a_failing_random_generator_is_a_500_not_a_panic() {
    let rng = Arc::new(Flaky {
        fail: AtomicBool::new(false),
        inner: OsRandom::new(),
    });
    let app = TestApp::start_with_rng(default_config(), "", rng.clone()).await;
    rng.fail.store(true, Ordering::SeqCst);

    // Token endpoint (the jti): a JSON server_error.
    let (s, body, h) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(s, 500, "{body}");
    assert_eq!(body["error"], "server_error");
    assert_eq!(h["cache-control"], "no-store");
    // Dynamic registration (client id, registration access token).
    let (s, body) = register(&app, json!({})).await;
    assert_eq!(s, 500, "{body}");
    assert_eq!(body["error"], "server_error");
    // The sign-in flow (session and pending-request ids): the client is
    // told `server_error` on its redirect URI (RFC 6749 §4.1.2.1), or a
    // person gets an error page; either way an answer, not a dropped
    // connection.
    let r = app
        .http
        .get(authorize_url(&app, &[]))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    match r.status().as_u16() {
        500 => {}
        303 | 302 => {
            let loc = r.headers()["location"].to_str().unwrap().to_owned();
            assert!(loc.starts_with(REDIRECT), "{loc}");
            assert!(loc.contains("error=server_error"), "{loc}");
        }
        s => panic!("/authorize answered {s}: {}", r.text().await.unwrap()),
    }

    // Nothing was poisoned: once the generator works again, so does authgate.
    rng.fail.store(false, Ordering::SeqCst);
    app.svc_token("weather:read").await;
    app.shutdown().await;
}
