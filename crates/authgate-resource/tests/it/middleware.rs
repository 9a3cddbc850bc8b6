//! The HTTP layers, over a real socket.

use authgate_resource::testing::TestAuthorizationServer;
use authgate_resource::{AuthClaims, ProtectedResource, Validator, require_scopes};
use axum::Router;
use axum::routing::{any, post};
use reqwest::StatusCode;
use serde_json::Value;

pub struct App {
    pub base: String,
    pub resource: String,
    pub auth: TestAuthorizationServer,
}

/// Binds first (the resource URL needs the port), then serves `make(resource)`.
pub async fn serve(make: impl FnOnce(&ProtectedResource) -> Router) -> App {
    let auth = TestAuthorizationServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource_url = format!("{base}/mcp");
    let validator = Validator::builder(auth.issuer(), &resource_url)
        .scope_implies("weather:write", ["weather:read"])
        .build()
        .unwrap();
    let resource = ProtectedResource::builder(validator)
        .scopes_supported(["weather:read", "weather:write", "offline_access"])
        .baseline_scopes(["weather:read"])
        .resource_name("Weather")
        .resource_documentation("https://docs.example/weather")
        .build()
        .unwrap();
    let router = make(&resource);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    App {
        base,
        resource: resource_url,
        auth,
    }
}

fn app(resource: &ProtectedResource) -> Router {
    let admin = Router::new()
        .route(
            "/mcp/alerts",
            post(|claims: AuthClaims| async move { claims.sub.clone() }),
        )
        .route_layer(require_scopes(&["weather:write"]));
    Router::new()
        .route(
            "/mcp",
            any(|claims: AuthClaims| async move { format!("hello {}", claims.sub) }),
        )
        .merge(admin)
        .layer(resource.layer())
        .merge(resource.metadata_router())
}

fn challenge(r: &reqwest::Response) -> String {
    let all: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(all.len(), 1, "exactly one challenge header");
    all[0].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_method_without_a_token_gets_401_with_the_challenge() {
    let a = serve(app).await;
    let http = reqwest::Client::new();
    let expected = format!(
        "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"weather:read\"",
        a.base
    );
    for method in [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
    ] {
        let r = http
            .request(method.clone(), &a.resource)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(challenge(&r), expected, "{method}");
    }
    // Another scheme counts as no token: 401 without an error code.
    let r = http
        .get(&a.resource)
        .header("authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&r), expected);
}

#[tokio::test]
async fn malformed_authorization_is_400_and_bad_tokens_401_invalid_token() {
    let a = serve(app).await;
    let http = reqwest::Client::new();
    for bad in ["Bearer", "Bearer a b", "Bearer a,b", "Bearer \"quoted\""] {
        let r = http
            .get(&a.resource)
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(challenge(&r).contains("error=\"invalid_request\""), "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
    let r = http
        .get(&a.resource)
        .header("authorization", "Bearer a")
        .header("authorization", "Bearer b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "two Authorization headers"
    );

    let expired = a.auth.sign(&{
        let mut c = a.auth.claims(&a.resource, &["weather:read"]);
        c["exp"] = serde_json::json!(1);
        c
    });
    for token in ["not.a.jwt", expired.as_str()] {
        let r = http
            .get(&a.resource)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let c = challenge(&r);
        assert!(c.starts_with("Bearer resource_metadata=\""), "{c}");
        assert!(c.contains("error=\"invalid_token\""), "{c}");
        let desc = c.split("error_description=\"").nth(1).unwrap();
        assert!(!desc.contains("scope="), "{c}");
        assert!(!c.contains(token), "the challenge never echoes the token");
    }
}

#[tokio::test]
async fn valid_tokens_pass_and_claims_reach_the_handler() {
    let a = serve(app).await;
    let http = reqwest::Client::new();
    let token = a.auth.token(&a.resource, &["weather:read"]);
    for _ in 0..2 {
        let r = http
            .get(&a.resource)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), "hello user-1");
    }
    // Audience of another resource on the same origin: refused.
    let other = a
        .auth
        .token(&format!("{}/other", a.base), &["weather:read"]);
    let r = http
        .get(&a.resource)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn require_scopes_answers_403_with_the_union() {
    let a = serve(app).await;
    let http = reqwest::Client::new();
    let url = format!("{}/mcp/alerts", a.base);
    let read = a.auth.token(&a.resource, &["weather:read", "profile"]);
    let r = http.post(&url).bearer_auth(&read).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let c = challenge(&r);
    assert_eq!(
        c,
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"weather:read profile weather:write\", \
             resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", \
             error_description=\"The access token does not grant the permission this request needs\"",
            a.base
        )
    );
    assert_eq!(c.matches("scope=").count(), 1);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");

    let write = a.auth.token(&a.resource, &["weather:write"]);
    let r = http.post(&url).bearer_auth(&write).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "user-1");
}

#[tokio::test]
async fn metadata_is_public_and_exact() {
    let a = serve(app).await;
    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let r = http.get(format!("{}{path}", a.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let m: Value = r.json().await.unwrap();
        assert_eq!(m["resource"], a.resource.as_str());
        assert_eq!(
            m["authorization_servers"],
            serde_json::json!([a.auth.issuer()])
        );
        assert_eq!(
            m["scopes_supported"],
            serde_json::json!(["weather:read", "weather:write"])
        );
        assert_eq!(m["bearer_methods_supported"], serde_json::json!(["header"]));
        assert_eq!(m["resource_name"], "Weather");
        assert_eq!(m["resource_documentation"], "https://docs.example/weather");
    }
    // The challenge points at a document that exists.
    let r = http.get(&a.resource).send().await.unwrap();
    let c = challenge(&r);
    let md = c
        .split("resource_metadata=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(http.get(md).send().await.unwrap().status(), StatusCode::OK);
    // A CORS preflight is not challenged.
    let r = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/.well-known/oauth-protected-resource/mcp", a.base),
        )
        .header("origin", "http://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[test]
fn bad_documentation_url_is_a_config_error() {
    let v = Validator::builder("https://as.example", "https://mcp.example/mcp")
        .build()
        .unwrap();
    assert!(
        ProtectedResource::builder(v.clone())
            .resource_documentation("docs")
            .build()
            .is_err()
    );
    let r = ProtectedResource::builder(v).build().unwrap();
    let m: Value = serde_json::from_str(r.metadata_json()).unwrap();
    assert!(m.get("resource_documentation").is_none());
    assert_eq!(
        r.metadata_path(),
        "/.well-known/oauth-protected-resource/mcp"
    );
}
