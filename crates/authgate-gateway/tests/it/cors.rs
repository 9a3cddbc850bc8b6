//! CORS for browser-based MCP clients: preflights without a token, the
//! allowed origins only, public metadata and JWKS.

use crate::support::*;
use serde_json::json;

const APP: &str = "https://app.example";

async fn preflight(h: &Harness, url: &str, origin: &str) -> reqwest::Response {
    h.http
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, mcp-name")
        .send()
        .await
        .unwrap()
}

fn acao(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn no_cors_headers_unless_origins_are_configured() {
    let h = weather(Opts::default()).await;
    let r = preflight(&h, &h.url, APP).await;
    assert_eq!(r.status(), 204, "a preflight needs no token");
    assert_eq!(acao(&r), None);
    assert!(header(&r, "access-control-allow-methods").is_empty());
    let r = h.post(None, &list(1), &[("origin", APP)]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(acao(&r), None);
    // The public documents are readable from any page, always.
    let md = format!(
        "{}/.well-known/oauth-protected-resource/weather/mcp",
        h.base
    );
    let r = h.http.get(&md).header("origin", APP).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some("*"));
    let jwks = format!("{}/.well-known/jwks.json", h.base);
    let r = h
        .http
        .get(&jwks)
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some("*"));
    for url in [&md, &jwks] {
        let r = preflight(&h, url, APP).await;
        assert_eq!(r.status(), 204, "{url}");
        assert_eq!(acao(&r).as_deref(), Some("*"), "{url}");
    }
}

#[tokio::test]
async fn listed_origins_get_cors_and_others_do_not() {
    let h = weather(Opts {
        cors_allowed_origins: &[APP],
        ..Opts::default()
    })
    .await;
    let r = preflight(&h, &h.url, APP).await;
    assert_eq!(r.status(), 204);
    assert_eq!(acao(&r).as_deref(), Some(APP));
    assert_eq!(
        header(&r, "access-control-allow-methods"),
        "POST, GET, DELETE"
    );
    let allowed = header(&r, "access-control-allow-headers");
    for name in [
        "Authorization",
        "Content-Type",
        "Mcp-Session-Id",
        "Mcp-Protocol-Version",
        "Mcp-Method",
        "Mcp-Name",
        "Last-Event-ID",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(header(&r, "vary").contains("Origin"));
    assert!(
        h.seen.lock().unwrap().is_empty(),
        "preflights stay at the gateway"
    );

    let r = preflight(&h, &h.url, "https://evil.example").await;
    assert_eq!(r.status(), 204);
    assert_eq!(acao(&r), None);

    // The 401's challenge is readable by the page (exposed), and so are
    // real answers.
    let r = h.post(None, &list(1), &[("origin", APP)]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(acao(&r).as_deref(), Some(APP));
    let exposed = header(&r, "access-control-expose-headers");
    assert!(exposed.contains("WWW-Authenticate") && exposed.contains("Mcp-Session-Id"));
    let t = h.token(&[READ]);
    let r = h
        .post(
            Some(&t),
            &call(2, "get_forecast", json!({"city": "Oslo"})),
            &[("origin", APP)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some(APP));
    let r = h
        .post(Some(&t), &list(3), &[("origin", "https://evil.example")])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r), None);
}

#[tokio::test]
async fn a_star_allows_any_origin() {
    let h = weather(Opts {
        cors_allowed_origins: &["*"],
        ..Opts::default()
    })
    .await;
    let r = preflight(&h, &h.url, "https://anything.example").await;
    assert_eq!(r.status(), 204);
    assert_eq!(acao(&r).as_deref(), Some("*"));
    let r = h.post(None, &list(1), &[("origin", APP)]).await;
    assert_eq!(acao(&r).as_deref(), Some("*"));
}
