use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

async fn introspect(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn introspection_reports_active_tokens_and_refuses_forgeries() {
    let app = TestApp::start().await;
    let token = app.svc_token("weather:read").await;
    let (s, body) = introspect(&app, &token).await;
    assert_eq!(s, 200);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["aud"], WEATHER_URI);
    assert_eq!(body["client_id"], "svc");
    assert_eq!(body["scope"], "weather:read");

    let parts: Vec<&str> = token.split('.').collect();
    let header = decode_segment(&token, 0);
    let claims = decode_segment(&token, 1);
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let mut none_header = header.clone();
    none_header["alg"] = "none".into();
    let mut hs_header = header.clone();
    hs_header["alg"] = "HS256".into();
    let mut jwt_typ = header.clone();
    jwt_typ["typ"] = "JWT".into();
    let mut no_typ = header.clone();
    no_typ.as_object_mut().unwrap().remove("typ");
    let mut other_kid = header.clone();
    other_kid["kid"] = "unknown".into();
    let mut more_scope = claims.clone();
    more_scope["scope"] = "weather:read weather:admin".into();
    let mut expired = claims.clone();
    expired["exp"] = 1.into();
    let forged = [
        format!("{}.{}.", enc(&none_header), parts[1]),
        format!("{}.{}.{}", enc(&hs_header), parts[1], parts[2]),
        format!("{}.{}.{}", enc(&jwt_typ), parts[1], parts[2]),
        format!("{}.{}.{}", enc(&no_typ), parts[1], parts[2]),
        format!("{}.{}.{}", enc(&other_kid), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], enc(&more_scope), parts[2]),
        format!("{}.{}.{}", parts[0], enc(&expired), parts[2]),
        format!("{}.{}", parts[0], parts[1]),
        "garbage".to_string(),
        "a.b.c".to_string(),
        "x".repeat(20_000),
    ];
    for f in forged {
        let (s, body) = introspect(&app, &f).await;
        assert_eq!(s, 200);
        assert_eq!(
            body,
            serde_json::json!({"active": false}),
            "{}",
            &f[..f.len().min(80)]
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let app = TestApp::start().await;
    let token = app.svc_token("weather:read").await;
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", token.as_str()), ("client_id", "public")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("svc", Some("wrong"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("nottoken", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.shutdown().await;
}

#[tokio::test]
async fn revocation_makes_introspection_inactive() {
    let app = TestApp::start().await;
    let token = app.svc_token("weather:read").await;
    let other = app.svc_token("weather:read").await;
    // Another client cannot revoke svc's token (RFC 7009 §2.1)...
    let r = app
        .http
        .post(app.url("/revoke"))
        .form(&[
            ("token", token.as_str()),
            ("client_id", "multi"),
            ("client_secret", SVC_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(&app, &token).await.1["active"], true);
    // ...but svc can.
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(introspect(&app, &token).await.1["active"], false);
    assert_eq!(
        introspect(&app, &other).await.1["active"],
        true,
        "only the revoked token"
    );
    // Unknown tokens: 200 all the same.
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", "never-issued")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bad hint is unsupported_token_type.
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", "x"), ("token_type_hint", "id_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "unsupported_token_type");
    app.shutdown().await;
}
