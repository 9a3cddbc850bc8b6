use crate::support::*;
use serde_json::Value;

/// The token verifies with a standard JWT library against the published
/// JWKS, with the RFC 9068 header and claims.
#[tokio::test]
async fn access_token_verifies_with_jwks_and_carries_rfc9068_claims() {
    let app = TestApp::start().await;
    let (status, body, headers) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("resource", WEATHER_URI),
                ("scope", "weather:write"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "weather:write");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();

    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let kid = header.kid.clone().unwrap();
    let jwk = jwks.find(&kid).expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[WEATHER_URI]);
    v.set_issuer(&[app.base.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).expect("verifies");
    let c = data.claims;
    assert_eq!(c["sub"], "svc");
    assert_eq!(c["client_id"], "svc");
    assert_eq!(c["aud"], WEATHER_URI);
    assert_eq!(c["scope"], "weather:write");
    assert!(c["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    app.shutdown().await;
}

#[tokio::test]
async fn resource_is_matched_tolerantly_and_issued_as_registered() {
    let app = TestApp::start().await;
    for presented in [
        "https://mcp.example.com/weather/",
        "https://MCP.Example.com:443/weather",
        "HTTPS://mcp.example.com/weather",
    ] {
        let (s, body, _) = app
            .token_form(
                Some(("svc", SVC_SECRET)),
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", presented),
                ],
            )
            .await;
        assert_eq!(s, 200, "{presented}: {body}");
        let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
        assert_eq!(claims["aud"], WEATHER_URI, "{presented}");
        // No scope asked: the resource's defaults the client may have.
        assert_eq!(claims["scope"], "weather:read");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn missing_resource_uses_the_clients_only_resource_or_fails() {
    let app = TestApp::start().await;
    let (s, body, _) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        decode_segment(body["access_token"].as_str().unwrap(), 1)["aud"],
        WEATHER_URI
    );

    // `multi` may use two resources: it must say which.
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "multi"),
                ("client_secret", SVC_SECRET),
            ],
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );

    // client_secret_post works and picks the named resource.
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "multi"),
                ("client_secret", SVC_SECRET),
                ("resource", NOTES_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["expires_in"], 600);
    app.shutdown().await;
}

#[tokio::test]
async fn resource_and_scope_errors() {
    let app = TestApp::start().await;
    let svc = Some(("svc", SVC_SECRET));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("resource", WEATHER_URI), ("resource", NOTES_URI)],
            "invalid_target",
        ),
        (
            vec![("resource", "https://unknown.example.com/mcp")],
            "invalid_target",
        ),
        (vec![("resource", NOTES_URI)], "invalid_target"), // not the client's
        (vec![("resource", "not a url")], "invalid_target"),
        (
            vec![("resource", WEATHER_URI), ("scope", "weather:admin")],
            "invalid_scope",
        ),
        (
            vec![("resource", WEATHER_URI), ("scope", "notes:read")],
            "invalid_scope",
        ),
        (
            vec![("resource", WEATHER_URI), ("scope", "bad\"scope")],
            "invalid_scope",
        ),
    ];
    for (extra, want) in cases {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(extra.iter().cloned());
        let (s, body, headers) = app.token_form(svc, &form).await;
        assert_eq!(s, 400, "{form:?}: {body}");
        assert_eq!(body["error"], want, "{form:?}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(headers["cache-control"], "no-store");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn client_authentication_failures() {
    let app = TestApp::start().await;
    let cc = [("grant_type", "client_credentials")];
    // Wrong secret, unknown client: 401 invalid_client with a Basic challenge.
    for (id, sec) in [("svc", "wrong"), ("nobody", SVC_SECRET), ("svc", "")] {
        let (s, body, headers) = app.token_form(Some((id, sec)), &cc).await;
        assert_eq!(s, 401, "{id}: {body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    // No authentication at all.
    let (s, body, _) = app.token_form(None, &cc).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    // Two methods at once.
    let (s, body, _) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", SVC_SECRET),
            ],
        )
        .await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")));
    // A public client cannot use client credentials.
    let (s, body, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "public"),
            ],
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
    // A public client presenting a secret is refused.
    let (s, body, _) = app
        .token_form(Some(("public", "anything-at-all")), &cc)
        .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    // A secret that is right for another client.
    let (s, _, _) = app.token_form(Some(("multi", "x")), &cc).await;
    assert_eq!(s, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn blocked_client_is_refused() {
    let app = TestApp::start().await;
    let mut c = app.store.get_client("svc").await.unwrap().unwrap();
    c.blocked = true;
    app.store.update_client(&c).await.unwrap();
    app.state().registry.invalidate_client("svc");
    let (s, body, _) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    app.shutdown().await;
}

/// A store that already holds two MCP servers with one URL (written before
/// duplicates were refused) names neither: a token for that URL is refused
/// rather than issued for whichever the lookup met first.
#[tokio::test]
async fn a_resource_url_registered_twice_is_refused_not_guessed() {
    let app = TestApp::start().await;
    let s = app.svc_token("weather:read").await;
    assert!(!s.is_empty());
    let mut twin = app.store.get_resource("weather").await.unwrap().unwrap();
    twin.id = "weather-twin".into();
    twin.uri = format!("{WEATHER_URI}/");
    app.store.upsert_resource(&twin).await.unwrap();
    app.state().registry.invalidate_resources();
    let (status, body, _) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "weather:read"),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    app.shutdown().await;
}
