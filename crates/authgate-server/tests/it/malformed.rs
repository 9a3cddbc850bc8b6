//! Malformed and hostile requests: always a clear 4xx, never a 5xx.

use crate::support::*;
use serde_json::Value;

struct Case {
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    auth: Option<&'static str>,
    body: Vec<u8>,
    want_status: u16,
    want_error: Option<&'static str>,
}

fn basic(id: &str, sec: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{sec}"))
    )
}

#[tokio::test]
async fn hostile_requests_get_clear_4xx() {
    let app = TestApp::start().await;
    let form = Some("application/x-www-form-urlencoded");
    let good_basic: &'static str = Box::leak(basic("svc", SVC_SECRET).into_boxed_str());
    let cases = vec![
        Case {
            name: "json body",
            path: "/token",
            content_type: Some("application/json"),
            auth: Some(good_basic),
            body: br#"{"grant_type":"client_credentials"}"#.to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "no content type",
            path: "/token",
            content_type: None,
            auth: Some(good_basic),
            body: b"grant_type=client_credentials".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "unknown grant",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=password&username=a&password=b".to_vec(),
            want_status: 400,
            want_error: Some("unsupported_grant_type"),
        },
        Case {
            name: "missing grant",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"scope=a".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "repeated grant_type",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "repeated scope",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=client_credentials&scope=a&scope=b".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "broken percent",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=client_%zzcredentials".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "invalid utf-8",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=client_credentials&scope=%ff%fe".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "raw invalid utf-8",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=\xff\xfe".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "NUL",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: b"grant_type=client_credentials&scope=a%00b".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "huge body",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: format!(
                "grant_type=client_credentials&scope={}",
                "a".repeat(200_000)
            )
            .into_bytes(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "too many params",
            path: "/token",
            content_type: form,
            auth: Some(good_basic),
            body: (0..300)
                .map(|i| format!("p{i}=x"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "bearer auth scheme",
            path: "/token",
            content_type: form,
            auth: Some("Bearer abc"),
            body: b"grant_type=client_credentials".to_vec(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
        Case {
            name: "basic not base64",
            path: "/token",
            content_type: form,
            auth: Some("Basic !!!"),
            body: b"grant_type=client_credentials".to_vec(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
        Case {
            name: "basic without colon",
            path: "/token",
            content_type: form,
            auth: Some("Basic c3Zj"),
            body: b"grant_type=client_credentials".to_vec(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
        Case {
            name: "basic empty",
            path: "/token",
            content_type: form,
            auth: Some("Basic "),
            body: b"grant_type=client_credentials".to_vec(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
        Case {
            name: "huge client id",
            path: "/token",
            content_type: form,
            auth: None,
            body: format!(
                "grant_type=client_credentials&client_id={}",
                "c".repeat(10_000)
            )
            .into_bytes(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
        Case {
            name: "bad code",
            path: "/token",
            content_type: form,
            auth: None,
            body: b"grant_type=authorization_code&client_id=public&code=nope&code_verifier=x"
                .to_vec(),
            want_status: 400,
            want_error: Some("invalid_grant"),
        },
        Case {
            name: "bad refresh",
            path: "/token",
            content_type: form,
            auth: None,
            body: b"grant_type=refresh_token&client_id=public&refresh_token=nope".to_vec(),
            want_status: 400,
            want_error: Some("invalid_grant"),
        },
        Case {
            name: "introspect json",
            path: "/introspect",
            content_type: Some("application/json"),
            auth: Some(good_basic),
            body: br#"{"token":"x"}"#.to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "introspect repeated token",
            path: "/introspect",
            content_type: form,
            auth: Some(good_basic),
            body: b"token=a&token=b".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "revoke without token",
            path: "/revoke",
            content_type: form,
            auth: Some(good_basic),
            body: b"token_type_hint=access_token".to_vec(),
            want_status: 400,
            want_error: Some("invalid_request"),
        },
        Case {
            name: "revoke unauthenticated",
            path: "/revoke",
            content_type: form,
            auth: None,
            body: b"token=abc".to_vec(),
            want_status: 401,
            want_error: Some("invalid_client"),
        },
    ];
    for c in cases {
        let mut req = app.http.post(app.url(c.path)).body(c.body.clone());
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = c.auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, c.want_status, "{}: {body}", c.name);
        if let Some(e) = c.want_error {
            assert_eq!(body["error"], e, "{}", c.name);
        }
    }
    // Wrong methods and unknown paths.
    let r = app.http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app.http.put(app.url("/introspect")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    app.shutdown().await;
}
