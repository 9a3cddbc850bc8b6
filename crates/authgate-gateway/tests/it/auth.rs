//! The resource-server half: challenges, metadata, token checks, and what
//! the upstream learns (never the caller's token; a signed assertion).

use crate::support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn missing_and_bad_tokens_get_401_with_the_challenge() {
    let h = weather(Opts::default()).await;
    let md = format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/weather/mcp\"",
        h.base
    );
    // No token, POST and a GET probe alike.
    let r = h.post(None, &list(1), &[]).await;
    assert_eq!(r.status(), 401);
    let c = www(&r);
    assert!(c.starts_with("Bearer ") && c.contains(&md), "{c}");
    // No baseline configured: no `scope` at all (the authorization server
    // grants the resource's defaults), never every supported scope.
    assert!(!c.contains("scope="), "{c}");
    assert!(!c.contains("error="), "{c}");
    let r = h.http.get(&h.url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(www(&r).contains(&md));

    let key = h.auth.signing_key();
    let mut claims = h.auth.claims(&h.url, &[READ]);
    let bad: Vec<(&str, String)> = vec![
        ("garbage", "abc.def.ghi".to_owned()),
        (
            "opaque (refresh-token shaped)",
            "rt_9f8e7d6c5b4a39281706".to_owned(),
        ),
        (
            "wrong audience",
            h.auth.token("http://elsewhere.example/mcp", &[READ]),
        ),
        // An ID token: a JWT of the same issuer and key, but typ JWT and
        // aud = the client.
        ("id token", {
            let mut c = claims.clone();
            c["aud"] = json!("client-1");
            key.sign_with_header(&json!({"alg":"ES256","kid":key.kid(),"typ":"JWT"}), &c)
        }),
        // Right audience but not typ at+jwt (e.g. a refresh token as JWT).
        (
            "refresh-token typ",
            key.sign_with_header(
                &json!({"alg":"ES256","kid":key.kid(),"typ":"rt+jwt"}),
                &claims,
            ),
        ),
        ("expired", {
            claims["exp"] = json!(1000);
            claims["iat"] = json!(900);
            h.auth.sign(&claims)
        }),
    ];
    for (what, token) in bad {
        let r = h.post(Some(&token), &list(1), &[]).await;
        assert_eq!(r.status(), 401, "{what}");
        let c = www(&r);
        assert!(
            c.contains("error=\"invalid_token\"") && c.contains(&md),
            "{what}: {c}"
        );
    }
    assert!(
        h.seen.lock().unwrap().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn the_challenge_asks_for_the_baseline_only() {
    let h = weather(Opts {
        baseline_scopes: &[READ],
        ..Opts::default()
    })
    .await;
    let r = h.post(None, &list(1), &[]).await;
    assert_eq!(r.status(), 401);
    let c = www(&r);
    assert!(c.contains("scope=\"weather:read\""), "{c}");
    assert!(!c.contains("weather:write"), "{c}");
    // A bad token's challenge names the same baseline.
    let r = h.post(Some("abc.def.ghi"), &list(1), &[]).await;
    assert_eq!(r.status(), 401);
    let c = www(&r);
    assert!(
        c.contains("scope=\"weather:read\"") && c.contains("error=\"invalid_token\""),
        "{c}"
    );
}

#[tokio::test]
async fn metadata_at_the_path_inserted_and_root_forms() {
    let h = weather(Opts::default()).await;
    for path in [
        "/.well-known/oauth-protected-resource/weather/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let r = h
            .http
            .get(format!("{}{path}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["resource"], h.url);
        assert_eq!(doc["authorization_servers"], json!([h.auth.issuer()]));
        assert_eq!(doc["scopes_supported"], json!([READ, WRITE]));
    }
}

#[tokio::test]
async fn no_token_passthrough_and_a_caller_assertion_that_verifies() {
    let h = weather(Opts::default()).await;
    let token = h.token(&[READ]);
    // A client trying to pass for the gateway gets its headers replaced.
    let r = h
        .post(
            Some(&token),
            &call(1, "whoami", json!({})),
            &[("authgate-caller", "forged"), ("authgate-sub", "admin")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let m = messages(r).await;
    assert_eq!(
        m[0]["result"]["structuredContent"]["sub"], "user-1",
        "{m:?}"
    );
    assert_eq!(m[0]["result"]["structuredContent"]["client_id"], "client-1");

    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert!(
        got.get("authorization").is_none(),
        "the token must not reach the upstream"
    );
    assert_eq!(got.get("authgate-sub").unwrap(), "user-1");
    assert_eq!(got.get("authgate-client-id").unwrap(), "client-1");
    let jwt = got.get("authgate-caller").unwrap().to_str().unwrap();
    let c = verify_assertion(
        &format!("{}/.well-known/jwks.json", h.base),
        &h.base,
        &h.upstream_url,
        jwt,
    )
    .await
    .unwrap();
    assert_eq!(c["sub"], "user-1");
    assert_eq!(c["scope"], READ);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    assert!(c["jti"].is_string());
    // Verified against another audience it fails: it is bound to this upstream.
    assert!(
        verify_assertion(
            &format!("{}/.well-known/jwks.json", h.base),
            &h.base,
            "http://other/mcp",
            jwt
        )
        .await
        .is_err()
    );
}
