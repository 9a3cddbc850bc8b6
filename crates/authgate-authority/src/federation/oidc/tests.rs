//! ID-token validation failures, the key-set refetch on an unknown `kid`,
//! discovery's exact-issuer rule, and the GitHub email rule. The HTTP
//! answers come from a local listener serving fixed documents (the
//! fetcher, its address policy and bounds are the real ones).

use super::id_token::{self, Expected, IssuerRule};
use super::*;
use crate::outbound::AddressPolicy;
use authgate_core::model::SigningAlg;
use authgate_core::random::OsRandom;
use authgate_core::signing::SigningKey;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: i64 = 1_800_000_000;
const CID: &str = "authgate-client";
const ISS: &str = "https://idp.example";

fn key(alg: SigningAlg) -> SigningKey {
    SigningKey::generate(alg, &OsRandom::new()).unwrap().key
}

fn jwk_of(k: &SigningKey) -> jsonwebtoken::jwk::Jwk {
    serde_json::from_value(k.public_jwk().clone()).unwrap()
}

fn good_claims() -> Value {
    json!({"iss": ISS, "sub": "u-1", "aud": CID, "exp": NOW + 300, "iat": NOW - 5,
           "nonce": "n-1", "email": "Ann@Example.com", "email_verified": true,
           "amr": ["pwd", "mfa"], "groups": ["eng"]})
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: IssuerRule::Exact(ISS),
        client_id: CID,
        nonce: "n-1",
        now: NOW,
    }
}

fn with(mut c: Value, k: &str, v: Value) -> Value {
    c[k] = v;
    c
}

fn without(mut c: Value, k: &str) -> Value {
    c.as_object_mut().unwrap().remove(k);
    c
}

#[test]
fn good_claims_give_the_subject() {
    assert_eq!(
        id_token::check_claims(&good_claims(), &expected()).unwrap(),
        "u-1"
    );
    // Several audiences with azp = us.
    let c = with(
        with(good_claims(), "aud", json!([CID, "other"])),
        "azp",
        json!(CID),
    );
    assert!(id_token::check_claims(&c, &expected()).is_ok());
    // Within the leeway.
    let c = with(good_claims(), "exp", json!(NOW - 30));
    assert!(id_token::check_claims(&c, &expected()).is_ok());
}

#[test]
fn each_bad_claim_is_refused() {
    let cases: Vec<(Value, &str)> = vec![
        (
            with(good_claims(), "iss", json!("https://idp.example/")),
            "issuer",
        ),
        (
            with(good_claims(), "iss", json!("https://evil.example")),
            "issuer",
        ),
        (without(good_claims(), "iss"), "no iss"),
        (with(good_claims(), "aud", json!("someone-else")), "aud"),
        (with(good_claims(), "aud", json!([CID, "other"])), "no azp"),
        (with(good_claims(), "azp", json!("other")), "azp"),
        (without(good_claims(), "aud"), "no aud"),
        (with(good_claims(), "exp", json!(NOW - 61)), "expired"),
        (without(good_claims(), "exp"), "no exp"),
        (with(good_claims(), "iat", json!(NOW + 120)), "future"),
        (without(good_claims(), "iat"), "no iat"),
        (
            with(good_claims(), "nbf", json!(NOW + 120)),
            "not valid yet",
        ),
        (with(good_claims(), "nonce", json!("n-2")), "nonce"),
        (without(good_claims(), "nonce"), "nonce"),
        (with(good_claims(), "sub", json!("")), "sub"),
        (with(good_claims(), "exp", json!("soon")), "not a number"),
    ];
    for (c, want) in cases {
        let e = id_token::check_claims(&c, &expected()).unwrap_err();
        assert!(e.contains(want), "{e:?} should mention {want:?} for {c}");
    }
}

#[test]
fn microsoft_tenant_issuers_take_the_tokens_own_tid() {
    let template = tenant_template("https://login.microsoftonline.com/common/v2.0");
    assert_eq!(
        template,
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    let e = Expected {
        issuer: IssuerRule::Tenant(&template),
        ..expected()
    };
    let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let c = with(
        with(
            good_claims(),
            "iss",
            json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
        ),
        "tid",
        json!(tid),
    );
    assert!(id_token::check_claims(&c, &e).is_ok());
    // Another tenant's issuer than the token's own tid.
    let other = with(
        c.clone(),
        "tid",
        json!("00000000-0000-0000-0000-000000000000"),
    );
    assert!(
        id_token::check_claims(&other, &e)
            .unwrap_err()
            .contains("issuer")
    );
    // No tid, or one that would change the issuer's shape.
    assert!(id_token::check_claims(&without(c.clone(), "tid"), &e).is_err());
    let bad = with(
        with(c, "tid", json!("a/b")),
        "iss",
        json!("https://login.microsoftonline.com/a/b/v2.0"),
    );
    assert!(id_token::check_claims(&bad, &e).is_err());
}

#[test]
fn signatures_verify_only_with_the_signing_key() {
    for alg in [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA] {
        let k = key(alg);
        let token = k.sign_jwt("JWT", &good_claims()).unwrap();
        let (a, kid) = id_token::header(&token).unwrap();
        assert_eq!(kid.as_deref(), Some(k.kid()));
        let claims = id_token::verify_signature(&token, a, &jwk_of(&k)).unwrap();
        assert_eq!(claims["sub"], "u-1");
        let other = key(alg);
        let e = id_token::verify_signature(&token, a, &jwk_of(&other)).unwrap_err();
        assert!(e.contains("signature"), "{e}");
    }
    // A tampered payload.
    let k = key(SigningAlg::ES256);
    let token = k.sign_jwt("JWT", &good_claims()).unwrap();
    let forged = k
        .sign_jwt("JWT", &with(good_claims(), "sub", json!("admin")))
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let forged_parts: Vec<&str> = forged.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], forged_parts[1], parts[2]);
    let (a, _) = id_token::header(&spliced).unwrap();
    assert!(id_token::verify_signature(&spliced, a, &jwk_of(&k)).is_err());
    // An ES256 key cannot verify a token claiming RS256.
    let (_, _) = id_token::header(&token).unwrap();
    assert!(
        id_token::verify_signature(&token, jsonwebtoken::Algorithm::RS256, &jwk_of(&k)).is_err()
    );
}

#[test]
fn unsigned_and_hmac_tokens_are_refused_by_header() {
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    for h in [json!({"alg": "none"}), json!({"alg": "HS256"})] {
        let t = format!("{}.{}.", b64(h), b64(good_claims()));
        assert!(id_token::header(&t).is_err(), "{t}");
    }
    assert!(id_token::header("not a jwt").is_err());
    assert!(id_token::header(&"a".repeat(20_000)).is_err());
}

#[test]
fn claims_map_to_an_identity() {
    let id = flow::map_claims("c1", "u-1", ISS, &good_claims());
    assert_eq!(id.email.as_deref(), Some("ann@example.com"));
    assert!(id.email_verified);
    assert_eq!(id.amr, vec!["pwd", "mfa"]);
    assert_eq!(id.groups, vec!["eng"]);
    let c = with(good_claims(), "email_verified", json!("true"));
    assert!(flow::map_claims("c1", "u", ISS, &c).email_verified);
    let c = without(good_claims(), "email_verified");
    assert!(!flow::map_claims("c1", "u", ISS, &c).email_verified);
    // Entra's xms_edov stands in only when email_verified is absent.
    let c = with(
        without(good_claims(), "email_verified"),
        "xms_edov",
        json!(true),
    );
    assert!(flow::map_claims("c1", "u", ISS, &c).email_verified);
    let c = with(
        with(good_claims(), "email_verified", json!(false)),
        "xms_edov",
        json!(true),
    );
    assert!(!flow::map_claims("c1", "u", ISS, &c).email_verified);
    let c = with(good_claims(), "amr", json!(["x y", "pwd"]));
    assert_eq!(flow::map_claims("c1", "u", ISS, &c).amr, vec!["pwd"]);
}

#[test]
fn github_email_only_from_the_verified_primary_address() {
    let user = json!({"id": 42, "login": "ann", "name": null});
    let emails = json!([
        {"email": "ann@corp.example", "primary": false, "verified": true},
        {"email": "ann@evil.example", "primary": true, "verified": false},
    ]);
    let id = github::map_github("gh", "https://api.github.com", 42, &user, &emails);
    assert_eq!(id.subject, "42");
    assert_eq!(id.email, None);
    assert!(!id.email_verified);
    assert_eq!(id.name.as_deref(), Some("ann"));
    let emails = json!([
        {"email": "Ann@Corp.example", "primary": true, "verified": true},
    ]);
    let id = github::map_github("gh", "https://api.github.com", 42, &user, &emails);
    assert_eq!(id.email.as_deref(), Some("ann@corp.example"));
    assert!(id.email_verified);
}

/// A loopback listener answering every GET with the document at its path.
struct Docs {
    base: String,
    docs: Arc<Mutex<std::collections::HashMap<String, Value>>>,
    hits: Arc<AtomicUsize>,
}

async fn serve() -> Docs {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let docs: Arc<Mutex<std::collections::HashMap<String, Value>>> = Arc::default();
    let hits = Arc::new(AtomicUsize::new(0));
    let (d, h) = (docs.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let (d, h) = (d.clone(), h.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
                h.fetch_add(1, Ordering::SeqCst);
                let doc = d.lock().unwrap().get(&path).cloned();
                let (status, body) = match doc {
                    Some(v) => ("200 OK", v.to_string()),
                    None => ("404 Not Found", "{}".to_string()),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Docs { base, docs, hits }
}

fn services() -> FederationServices {
    FederationServices::new(AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    })
    .unwrap()
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_key_set_once_and_is_bounded() {
    let d = serve().await;
    let (a, b) = (key(SigningAlg::ES256), key(SigningAlg::ES256));
    d.docs
        .lock()
        .unwrap()
        .insert("/jwks".into(), json!({"keys": [a.public_jwk()]}));
    let uri = format!("{}/jwks", d.base);
    let mut fed = services();
    fed.jwks.refetch_every = std::time::Duration::ZERO;
    assert!(fed.signing_key(&uri, Some(a.kid())).await.is_ok());
    assert!(fed.signing_key(&uri, Some(a.kid())).await.is_ok());
    assert_eq!(
        d.hits.load(Ordering::SeqCst),
        1,
        "a known kid comes from the cache"
    );
    // The upstream rotates to b: the unknown kid makes one refetch.
    d.docs.lock().unwrap().insert(
        "/jwks".into(),
        json!({"keys": [a.public_jwk(), b.public_jwk()]}),
    );
    let got = fed.signing_key(&uri, Some(b.kid())).await.unwrap();
    assert_eq!(got.common.key_id.as_deref(), Some(b.kid()));
    assert_eq!(d.hits.load(Ordering::SeqCst), 2);
    // A kid nobody publishes: refused after one refetch...
    assert!(fed.signing_key(&uri, Some("nope")).await.is_err());
    assert_eq!(d.hits.load(Ordering::SeqCst), 3);
    // ...and with the real bound, not refetched again right away.
    fed.jwks.refetch_every = jwks::REFETCH_EVERY;
    for _ in 0..5 {
        assert!(fed.signing_key(&uri, Some("nope")).await.is_err());
    }
    assert_eq!(d.hits.load(Ordering::SeqCst), 3, "unknown kids are bounded");

    // Sign-ins arriving together with a cold cache: one fetch for all.
    let cold = services();
    let one = || cold.signing_key(&uri, Some(a.kid()));
    let (r1, r2, r3, r4) = tokio::join!(one(), one(), one(), one());
    assert!(r1.is_ok() && r2.is_ok() && r3.is_ok() && r4.is_ok());
    assert_eq!(d.hits.load(Ordering::SeqCst), 4, "single flight");
}

#[tokio::test]
async fn discovery_requires_the_configured_issuer_exactly() {
    let d = serve().await;
    let doc = |iss: &str| {
        json!({"issuer": iss, "authorization_endpoint": format!("{}/auth", d.base),
               "token_endpoint": format!("{}/token", d.base), "jwks_uri": format!("{}/jwks", d.base),
               "authorization_response_iss_parameter_supported": true})
    };
    let issuer = format!("{}/good", d.base);
    d.docs.lock().unwrap().insert(
        "/good/.well-known/openid-configuration".into(),
        doc(&issuer),
    );
    d.docs.lock().unwrap().insert(
        "/evil/.well-known/openid-configuration".into(),
        doc(&issuer),
    );
    let fed = services();
    let md = fed.discover(&issuer, false).await.unwrap();
    assert!(md.authorization_response_iss_parameter_supported);
    let hits = d.hits.load(Ordering::SeqCst);
    fed.discover(&issuer, false).await.unwrap();
    assert_eq!(d.hits.load(Ordering::SeqCst), hits, "cached");
    // A document naming another issuer than the one configured.
    let e = fed
        .discover(&format!("{}/evil", d.base), false)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Discovery(_)), "{e:?}");
    // A missing document.
    let e = fed
        .discover(&format!("{}/none", d.base), false)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Discovery(_)), "{e:?}");
    // A failure is remembered for a while: sign-ins starting together
    // while the document is missing ask the provider once, and so do the
    // ones that come right after.
    let late = format!("{}/late", d.base);
    let hits = d.hits.load(Ordering::SeqCst);
    let one = || fed.discover(&late, false);
    let (r1, r2, r3) = tokio::join!(one(), one(), one());
    assert!(r1.is_err() && r2.is_err() && r3.is_err());
    d.docs
        .lock()
        .unwrap()
        .insert("/late/.well-known/openid-configuration".into(), doc(&late));
    assert!(
        fed.discover(&late, false).await.is_err(),
        "still remembered"
    );
    assert_eq!(d.hits.load(Ordering::SeqCst), hits + 1, "one fetch");
    // Plain http to a non-loopback host is never fetched.
    assert!(fed.discover("http://idp.example", false).await.is_err());
    // Loopback upstreams only where the policy allows loopback.
    let strict = FederationServices::new(AddressPolicy::default()).unwrap();
    assert!(strict.discover(&issuer, false).await.is_err());
}
