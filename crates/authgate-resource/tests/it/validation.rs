//! Token validation: what is accepted and every forgery refused.

use crate::{RESOURCE, builder, invalid, now};
use authgate_resource::testing::{TestAuthorizationServer, TestKey};
use authgate_resource::{Algorithm, InvalidReason as R, ValidationError};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

fn b64(v: &Value) -> String {
    B64.encode(v.to_string())
}

#[tokio::test]
async fn valid_tokens_of_each_algorithm_are_accepted() {
    for alg in Algorithm::ALL {
        let auth = TestAuthorizationServer::start_with(alg, "").await;
        let v = builder(&auth).build().unwrap();
        let mut c = auth.claims(RESOURCE, &["weather:write"]);
        c["gid"] = json!("grant-7");
        c["auth_time"] = json!(now() - 5);
        let token = auth.sign(&c);
        let claims = v
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.client_id, "client-1");
        assert_eq!(claims.iss, auth.issuer());
        assert_eq!(claims.aud, vec![RESOURCE.to_string()]);
        assert_eq!(claims.scopes, vec!["weather:write"]);
        assert!(claims.has_scope("weather:write"));
        assert!(claims.has_scope("weather:read"), "write implies read");
        assert!(!claims.has_scope("weather:admin"));
        assert_eq!(claims.extra["gid"], "grant-7");
        assert!(claims.jti.is_some());
    }
}

#[tokio::test]
async fn audience_forms() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth).build().unwrap();
    for aud in [
        json!(RESOURCE),
        json!("http://127.0.0.1:3000/mcp/"),
        json!("HTTP://127.0.0.1:3000/mcp"),
        json!(["https://other.example/", RESOURCE]),
    ] {
        let mut c = auth.claims(RESOURCE, &["weather:read"]);
        c["aud"] = aud.clone();
        assert!(v.validate(&auth.sign(&c)).await.is_ok(), "{aud}");
    }
    for aud in [
        json!("http://127.0.0.1:3001/mcp"),
        json!("http://127.0.0.1:3000/mcp/tools"),
        json!("http://127.0.0.1:3000/"),
        json!(["https://other.example/"]),
        json!([]),
    ] {
        let mut c = auth.claims(RESOURCE, &["weather:read"]);
        c["aud"] = aud.clone();
        assert_eq!(
            v.validate(&auth.sign(&c)).await.unwrap_err(),
            invalid(R::Audience),
            "{aud}"
        );
    }
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth).cache_capacity(0).build().unwrap();
    let key = auth.signing_key();
    let good = auth.claims(RESOURCE, &["weather:read"]);
    let header = json!({"alg": "ES256", "kid": key.kid(), "typ": "at+jwt"});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        auth.sign(&c)
    };
    let with_header = |f: &dyn Fn(&mut Value)| {
        let mut h = header.clone();
        f(&mut h);
        key.sign_with_header(&h, &good)
    };

    // alg none, with and without a signature segment.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","kid":key.kid(),"typ":"at+jwt"})),
        b64(&good)
    );
    // HS256 keyed with the public key bytes, and with the JWK text.
    let hs = |secret: &[u8]| {
        let input = format!(
            "{}.{}",
            b64(&json!({"alg":"HS256","kid":key.kid(),"typ":"at+jwt"})),
            b64(&good)
        );
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        format!("{input}.{}", B64.encode(tag.as_ref()))
    };
    let valid = auth.sign(&good);
    let mut truncated = valid.clone();
    truncated.truncate(valid.len() - 10);
    let (h, rest) = valid.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let mut tampered_claims = good.clone();
    tampered_claims["scope"] = json!("weather:write");
    let tampered = format!("{h}.{}.{s}", b64(&tampered_claims));
    let other_key = TestKey::generate(Algorithm::ES256, key.kid());
    let t = now();

    let cases: Vec<(&str, String, ValidationError)> = vec![
        ("alg none", none.clone(), invalid(R::Algorithm)),
        (
            "alg none + sig",
            format!("{none}AAAA"),
            invalid(R::Algorithm),
        ),
        (
            "HS256 with public key",
            hs(&key.public_key_bytes()),
            invalid(R::Algorithm),
        ),
        (
            "HS256 with JWK",
            hs(key.public_jwk().to_string().as_bytes()),
            invalid(R::Algorithm),
        ),
        (
            "alg swapped to RS256",
            with_header(&|h| h["alg"] = json!("RS256")),
            invalid(R::Algorithm),
        ),
        (
            "alg swapped to EdDSA",
            with_header(&|h| h["alg"] = json!("EdDSA")),
            invalid(R::Algorithm),
        ),
        (
            "unknown kid",
            with_header(&|h| h["kid"] = json!("nope")),
            invalid(R::UnknownKey),
        ),
        (
            "same kid, other key",
            other_key.sign(&good),
            invalid(R::Signature),
        ),
        (
            "wrong iss",
            with(&|c| c["iss"] = json!("http://127.0.0.1:9/")),
            invalid(R::Issuer),
        ),
        (
            "iss trailing slash",
            with(&|c| c["iss"] = json!(format!("{}/", auth.issuer()))),
            invalid(R::Issuer),
        ),
        (
            "wrong aud",
            with(&|c| c["aud"] = json!("http://evil.example/mcp")),
            invalid(R::Audience),
        ),
        (
            "typ missing",
            with_header(&|h| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            invalid(R::Type),
        ),
        (
            "typ JWT",
            with_header(&|h| h["typ"] = json!("JWT")),
            invalid(R::Type),
        ),
        (
            "crit header",
            with_header(&|h| h["crit"] = json!(["b64"])),
            invalid(R::Header),
        ),
        (
            "expired",
            with(&|c| c["exp"] = json!(t - 120)),
            invalid(R::Expired),
        ),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(t + 120)),
            invalid(R::NotYetValid),
        ),
        (
            "iat in the future",
            with(&|c| c["iat"] = json!(t + 120)),
            invalid(R::IssuedInFuture),
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            invalid(R::Claims),
        ),
        (
            "no sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
            invalid(R::Claims),
        ),
        (
            "exp as string",
            with(&|c| c["exp"] = json!("soon")),
            invalid(R::Claims),
        ),
        ("truncated", truncated, invalid(R::Signature)),
        ("tampered payload", tampered, invalid(R::Signature)),
        (
            "signature dropped",
            format!("{h}.{p}."),
            invalid(R::Signature),
        ),
        (
            "garbage base64",
            "!!!.???.***".into(),
            invalid(R::Malformed),
        ),
        ("two segments", format!("{h}.{p}"), invalid(R::Malformed)),
        ("four segments", format!("{valid}.x"), invalid(R::Malformed)),
        (
            "header not JSON",
            format!("{}.{p}.{s}", B64.encode("nope")),
            invalid(R::Header),
        ),
        (
            "huge header",
            with_header(&|h| h["kid"] = json!("k".repeat(4000))),
            invalid(R::TooLarge),
        ),
        (
            "huge token",
            with(&|c| c["pad"] = json!("x".repeat(9000))),
            invalid(R::TooLarge),
        ),
        ("empty", String::new(), invalid(R::Malformed)),
    ];
    for (name, token, want) in cases {
        let got = v.validate(&token).await.map(|_| ());
        assert_eq!(got, Err(want.clone()), "{name}");
        // Errors never echo the token or key material.
        let shown = format!("{want} {want:?}");
        assert!(
            !shown.contains(&p[..20]) && !shown.contains(key.kid()),
            "{name}: {shown}"
        );
        assert_eq!(want.status_code(), 401, "{name}");
    }
}

#[tokio::test]
async fn leeway_is_honoured_and_configurable() {
    let auth = TestAuthorizationServer::start().await;
    let t = now();
    let mut c = auth.claims(RESOURCE, &["weather:read"]);
    c["exp"] = json!(t - 10);
    c["iat"] = json!(t + 10);
    c["nbf"] = json!(t + 10);
    let token = auth.sign(&c);
    let lenient = builder(&auth).build().unwrap();
    assert!(
        lenient.validate(&token).await.is_ok(),
        "within the default 30 s leeway"
    );
    let strict = builder(&auth)
        .leeway(std::time::Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        strict.validate(&token).await.unwrap_err(),
        invalid(R::Expired)
    );
}

#[tokio::test]
async fn cached_tokens_still_expire() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth).build().unwrap();
    let token = auth.token(RESOURCE, &["weather:read"]);
    let t = now();
    let first = v.validate_at(&token, t).await.unwrap();
    let again = v.validate_at(&token, t).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "second validation is served from the cache"
    );
    let exp = first.exp;
    assert_eq!(
        v.validate_at(&token, exp + 31).await.unwrap_err(),
        invalid(R::Expired)
    );
}

#[tokio::test]
async fn an_algorithm_can_be_turned_off() {
    let auth = TestAuthorizationServer::start_with(Algorithm::RS256, "").await;
    let v = builder(&auth)
        .algorithms(&[Algorithm::ES256, Algorithm::EdDSA])
        .build()
        .unwrap();
    let token = auth.token(RESOURCE, &["weather:read"]);
    assert_eq!(v.validate(&token).await.unwrap_err(), invalid(R::Algorithm));
}

#[tokio::test]
async fn introspection_mode() {
    use authgate_resource::testing::INTROSPECTION_CLIENT;
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth)
        .introspection(INTROSPECTION_CLIENT.0, INTROSPECTION_CLIENT.1)
        .introspection_cache_ttl(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let token = auth.token(RESOURCE, &["weather:write"]);
    let c = v.validate(&token).await.unwrap();
    assert!(c.has_scope("weather:read"));
    v.validate(&token).await.unwrap();
    assert_eq!(
        auth.introspection_requests(),
        1,
        "second validation is cached"
    );
    let other = auth.token("http://127.0.0.1:3000/other", &["weather:read"]);
    assert_eq!(v.validate(&other).await.unwrap_err(), invalid(R::Audience));
    let revoked = auth.sign(&{
        let mut c = auth.claims(RESOURCE, &["weather:read"]);
        c["jti"] = json!("revoked-one");
        c
    });
    auth.revoke(&revoked);
    assert_eq!(
        v.validate(&revoked).await.unwrap_err(),
        invalid(R::Inactive)
    );
    assert_eq!(
        v.validate("opaque-unknown").await.unwrap_err(),
        invalid(R::Inactive)
    );

    // Issue 17: an active answer about anything but an access token (a
    // refresh token introspected by mistake or on purpose) is refused.
    for kind in [
        "refresh_token",
        "urn:ietf:params:oauth:token-type:refresh_token",
    ] {
        let refresh = auth.sign(&{
            let mut c = auth.claims(RESOURCE, &["weather:read"]);
            c["jti"] = json!(format!("refresh-{kind}"));
            c["token_type"] = json!(kind);
            c
        });
        assert_eq!(
            v.validate(&refresh).await.unwrap_err(),
            invalid(R::NotAccessToken),
            "{kind}"
        );
    }

    let wrong_secret = builder(&auth)
        .introspection(INTROSPECTION_CLIENT.0, "wrong")
        .build()
        .unwrap();
    assert_eq!(
        wrong_secret.validate(&token).await.unwrap_err(),
        ValidationError::Unavailable
    );
}
