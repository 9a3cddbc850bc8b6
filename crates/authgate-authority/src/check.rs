//! The connection check: authgate fetches an MCP server's URL and its
//! path-inserted metadata URL, server-side, and reports point by point what
//! an MCP client will see. Plus the copy-ready snippets for the MCP server.
//!
//! Fetches go through the one outbound fetcher and its address policy
//! (`crate::outbound`), like client metadata documents: only public
//! unicast addresses (checked in the resolver, so the address dialled is
//! the address checked), no redirects, no proxies, small bodies, short
//! timeouts. When the issuer itself is loopback, loopback MCP servers are
//! checked too. `admin_connection_check_allow_private = true` also allows
//! loopback and private networks (RFC 1918, CGNAT, unique-local) for MCP
//! servers there; link-local (cloud metadata) and other special-use
//! addresses stay refused.

use crate::Authority;
use crate::manage::types::{CheckPoint, CheckReport, Snippets};
use crate::outbound::{Answer, FetchError, Fetcher};
use authgate_core::model::Resource;
use serde_json::Value;

// ------------------------------------------------------------- fetching

const PRIVATE_HINT: &str = "its address is private or special-use, which the check does not connect to (set admin_connection_check_allow_private = true for servers on private networks)";

/// What a failed fetch tells the operator.
fn describe_error(e: &FetchError) -> String {
    match e {
        FetchError::SpecialUseAddress => PRIVATE_HINT.into(),
        FetchError::Timeout(ms) => format!("no answer within {} s", ms / 1000),
        FetchError::Connect => {
            "the connection failed (is the server running and reachable from authgate?)".into()
        }
        FetchError::Scheme => "only http(s) URLs are checked".into(),
        other => other.to_string(),
    }
}

/// The check's requests go through the one outbound fetcher (its address
/// policy, limits and timeouts; see `crate::outbound`).
struct Guarded<'a> {
    fetcher: &'a Fetcher,
}

impl Guarded<'_> {
    fn http(&self) -> &reqwest::Client {
        self.fetcher.client()
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Answer, String> {
        let u = url::Url::parse(url).map_err(|_| "not a URL".to_string())?;
        self.fetcher
            .request(&u, req)
            .await
            .map_err(|e| describe_error(&e))
    }
}

// -------------------------------------------------------------- challenges

/// Parses the auth-params of the first `Bearer` challenge in a
/// `WWW-Authenticate` value (RFC 9110 §11.6.1). `None` without one.
pub fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let lower = header.to_ascii_lowercase();
    let mut start = None;
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer") {
        let at = from + i;
        let before_ok = at == 0 || matches!(lower.as_bytes()[at - 1], b' ' | b',');
        let after = lower.as_bytes().get(at + 6);
        let after_ok = after.is_none_or(|b| *b == b' ');
        if before_ok && after_ok {
            start = Some(at + 6);
            break;
        }
        from = at + 6;
    }
    let mut rest = header.get(start?..)?.trim_start();
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim();
        if key.is_empty() || key.contains(' ') {
            break; // the next challenge's scheme
        }
        let after = &rest[eq + 1..];
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut end = None;
            let mut chars = q.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            let Some(end) = end else { break };
            (v, &q[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((key.to_ascii_lowercase(), value));
        rest = remaining;
    }
    Some(out)
}

// ------------------------------------------------------------------- check

struct Points(Vec<CheckPoint>);

impl Points {
    fn add(&mut self, id: &str, label: &str, ok: bool, detail: impl Into<String>) {
        self.0.push(CheckPoint {
            id: id.into(),
            label: label.into(),
            ok,
            detail: detail.into(),
        });
    }
    fn skip(&mut self, id: &str, label: &str, why: &str) {
        self.add(id, label, false, format!("not checked: {why}"));
    }
}

const L_REACH: &str = "authgate can reach the MCP server";
const L_401: &str = "It answers 401 to a request without a token";
const L_BEARER: &str = "The 401 carries a WWW-Authenticate: Bearer challenge";
const L_RM: &str = "The challenge's resource_metadata names the path-inserted metadata URL";
const L_META: &str = "Metadata is served at the path-inserted URL";
const L_RES: &str = "resource is exactly the registered server URL";
const L_AS: &str = "authorization_servers lists this issuer exactly";
const L_SCOPES: &str =
    "Scopes are consistent (no offline_access; defaults included; all defined here)";

fn scope_problems(advertised: &[String], r: &Resource) -> Vec<String> {
    let mut p = Vec::new();
    if advertised.iter().any(|s| s == "offline_access") {
        p.push("offline_access is advertised; it is not an MCP server scope — remove it".into());
    }
    for s in advertised {
        if s != "offline_access" && !r.scopes.iter().any(|d| &d.name == s) {
            p.push(format!("{s:?} is advertised but not defined here"));
        }
    }
    for d in &r.default_scopes {
        if !advertised.iter().any(|s| s == d) {
            p.push(format!("default scope {d:?} is missing"));
        }
    }
    p
}

/// Runs the connection check of `r`.
pub async fn run(state: &Authority, r: &Resource) -> CheckReport {
    let metadata_url = crate::resource_metadata::metadata_url(r);
    let mut pts = Points(Vec::new());
    let g = Guarded {
        fetcher: &state.client_services.connection_check,
    };
    check_unauthorized(&g, r, &metadata_url, &mut pts).await;
    match fetch_metadata(&g, &metadata_url, &mut pts).await {
        None => {
            for (id, l) in [
                ("metadata.resource", L_RES),
                ("metadata.authorization_servers", L_AS),
                ("metadata.scopes", L_SCOPES),
            ] {
                pts.skip(id, l, "no metadata document");
            }
        }
        Some(doc) => {
            check_metadata_resource(&doc, r, &mut pts);
            check_authorization_servers(&doc, &state.settings.issuer, &mut pts);
            check_scopes_supported(&doc, r, &mut pts);
        }
    }
    CheckReport {
        resource_id: r.id.clone(),
        target: r.uri.clone(),
        metadata_url,
        ok: pts.0.iter().all(|p| p.ok),
        points: pts.0,
    }
}

/// 1. What a client's first request meets: MCP `initialize`, no token.
async fn check_unauthorized(g: &Guarded<'_>, r: &Resource, metadata_url: &str, pts: &mut Points) {
    let init = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "authgate-connection-check", "version": env!("CARGO_PKG_VERSION")}}
    });
    let req = g
        .http()
        .post(&r.uri)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(init.to_string());
    let f = match g.send(req, &r.uri).await {
        Err(e) => {
            pts.add("reach", L_REACH, false, format!("{}: {e}", r.uri));
            for (id, l) in [
                ("unauthorized", L_401),
                ("challenge", L_BEARER),
                ("challenge.resource_metadata", L_RM),
            ] {
                pts.skip(id, l, "the MCP server could not be reached");
            }
            return;
        }
        Ok(f) => f,
    };
    pts.add(
        "reach",
        L_REACH,
        true,
        format!("POST {} answered HTTP {}", r.uri, f.status),
    );
    pts.add(
        "unauthorized",
        L_401,
        f.status == 401,
        if f.status == 401 {
            "HTTP 401".to_string()
        } else {
            format!(
                "it answered HTTP {}; without a valid token it must answer 401 so clients start the authorization flow",
                f.status
            )
        },
    );
    check_challenge(&f.headers, r, metadata_url, pts);
}

/// The 401's `WWW-Authenticate: Bearer` challenge and its parameters.
fn check_challenge(
    headers: &reqwest::header::HeaderMap,
    r: &Resource,
    metadata_url: &str,
    pts: &mut Points,
) {
    let values: Vec<String> = headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let Some(params) = values.iter().find_map(|v| bearer_params(v)) else {
        let found = if values.is_empty() {
            "no WWW-Authenticate header".to_string()
        } else {
            format!(
                "WWW-Authenticate: {} (no Bearer challenge)",
                values.join(", ")
            )
        };
        pts.add(
            "challenge",
            L_BEARER,
            false,
            format!(
                "{found}; send: WWW-Authenticate: {}",
                crate::resource_metadata::www_authenticate(r)
            ),
        );
        pts.skip(
            "challenge.resource_metadata",
            L_RM,
            "there is no Bearer challenge",
        );
        return;
    };
    pts.add(
        "challenge",
        L_BEARER,
        true,
        format!("WWW-Authenticate: {}", values.join(", ")),
    );
    match params.iter().find(|(k, _)| k == "resource_metadata") {
        None => pts.add(
            "challenge.resource_metadata",
            L_RM,
            false,
            format!("the challenge has no resource_metadata parameter; add resource_metadata=\"{metadata_url}\""),
        ),
        Some((_, v)) if *v == metadata_url => {
            pts.add("challenge.resource_metadata", L_RM, true, format!("resource_metadata=\"{v}\""))
        }
        Some((_, v)) => pts.add(
            "challenge.resource_metadata",
            L_RM,
            false,
            format!("it names {v:?}; expected {metadata_url:?}"),
        ),
    }
    if let Some((_, s)) = params.iter().find(|(k, _)| k == "scope") {
        check_challenge_scope(s, r, pts);
    }
}

/// A point only when the challenge's `scope` names a scope not defined here.
fn check_challenge_scope(s: &str, r: &Resource, pts: &mut Points) {
    let advertised: Vec<String> = s
        .split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect();
    let bad: Vec<String> = advertised
        .iter()
        .filter(|x| *x == "offline_access" || !r.scopes.iter().any(|d| &d.name == *x))
        .cloned()
        .collect();
    if !bad.is_empty() {
        pts.add(
            "challenge.scope",
            "The challenge's scope names only scopes defined here",
            false,
            format!("scope=\"{s}\" names {}", bad.join(", ")),
        );
    }
}

/// 2. Protected resource metadata at the path-inserted URL.
async fn fetch_metadata(g: &Guarded<'_>, metadata_url: &str, pts: &mut Points) -> Option<Value> {
    let req = g
        .http()
        .get(metadata_url)
        .header("accept", "application/json");
    match g.send(req, metadata_url).await {
        Err(e) => {
            pts.add("metadata", L_META, false, format!("{metadata_url}: {e}"));
            None
        }
        Ok(f) if f.status != 200 => {
            pts.add(
                "metadata",
                L_META,
                false,
                format!(
                    "GET {metadata_url} answered HTTP {}; serve the metadata JSON there",
                    f.status
                ),
            );
            None
        }
        Ok(f) => match serde_json::from_slice::<Value>(&f.body) {
            Ok(v) if v.is_object() => {
                pts.add(
                    "metadata",
                    L_META,
                    true,
                    format!("GET {metadata_url}: HTTP 200, JSON"),
                );
                Some(v)
            }
            _ => {
                pts.add(
                    "metadata",
                    L_META,
                    false,
                    format!("GET {metadata_url} answered 200 but not a JSON object"),
                );
                None
            }
        },
    }
}

fn check_metadata_resource(doc: &Value, r: &Resource, pts: &mut Points) {
    match doc.get("resource").and_then(Value::as_str) {
        Some(v) if v == r.uri => pts.add("metadata.resource", L_RES, true, format!("\"{v}\"")),
        Some(v) => pts.add(
            "metadata.resource",
            L_RES,
            false,
            format!(
                "it is {v:?}; it must be exactly {:?} (clients compare it byte for byte)",
                r.uri
            ),
        ),
        None => pts.add(
            "metadata.resource",
            L_RES,
            false,
            format!("missing; set \"resource\": {:?}", r.uri),
        ),
    }
}

fn check_authorization_servers(doc: &Value, issuer: &str, pts: &mut Points) {
    let servers: Option<Vec<String>> = doc
        .get("authorization_servers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        });
    match servers {
        Some(s) if s.iter().any(|x| x == issuer) => pts.add(
            "metadata.authorization_servers",
            L_AS,
            true,
            format!("{s:?}"),
        ),
        Some(s) => pts.add(
            "metadata.authorization_servers",
            L_AS,
            false,
            format!("it is {s:?}; it must contain {issuer:?} exactly"),
        ),
        None => pts.add(
            "metadata.authorization_servers",
            L_AS,
            false,
            format!("missing; set \"authorization_servers\": [{issuer:?}]"),
        ),
    }
}

fn check_scopes_supported(doc: &Value, r: &Resource, pts: &mut Points) {
    match doc.get("scopes_supported").and_then(Value::as_array) {
        None => pts.add(
            "metadata.scopes",
            L_SCOPES,
            r.default_scopes.is_empty() && r.scopes.is_empty(),
            "scopes_supported is missing; clients use it to choose what to ask for",
        ),
        Some(a) => {
            let advertised: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
            let problems = scope_problems(&advertised, r);
            if problems.is_empty() {
                pts.add("metadata.scopes", L_SCOPES, true, format!("{advertised:?}"));
            } else {
                pts.add("metadata.scopes", L_SCOPES, false, problems.join("; "));
            }
        }
    }
}

// ---------------------------------------------------------------- snippets

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Copy-ready code: `authgate-resource` (Rust) and Node.js (Express + jose).
pub fn snippets(issuer: &str, r: &Resource, metadata: &Value) -> Snippets {
    let path = url::Url::parse(&r.uri)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let path = if path.is_empty() { "/".into() } else { path };
    Snippets {
        rust: rust_snippet(issuer, r, &path),
        node: node_snippet(issuer, r, metadata, &path),
    }
}

/// The MCP server behind `authgate-resource`'s axum layer, `path` being
/// where its MCP service is routed.
fn rust_snippet(issuer: &str, r: &Resource, path: &str) -> String {
    let list = |v: Vec<&str>| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut implies = String::new();
    for d in &r.scopes {
        if !d.implies.is_empty() {
            implies.push_str(&format!(
                "\n    .scope_implies({:?}, [{}])",
                d.name,
                list(d.implies.iter().map(String::as_str).collect())
            ));
        }
    }
    format!(
        r#"// Cargo.toml: authgate-resource = "0.1", axum = "0.8", tokio = {{ version = "1", features = ["full"] }}
use authgate_resource::{{ProtectedResource, Validator}};

let validator = Validator::builder({issuer:?}, {uri:?}){implies}
    .build()?;
let resource = ProtectedResource::builder(validator)
    .scopes_supported([{scopes}])
    .baseline_scopes([{defaults}])
    .resource_name({name:?})
    .build()?;
// 401 with the WWW-Authenticate challenge, 403 insufficient_scope, and the
// metadata at the path-inserted well-known URL:
let app = axum::Router::new()
    .route_service({path:?}, mcp_service) // your rmcp StreamableHttpService
    .layer(resource.layer())
    .merge(resource.metadata_router());
"#,
        uri = r.uri,
        scopes = list(r.scopes.iter().map(|s| s.name.as_str()).collect()),
        defaults = list(r.default_scopes.iter().map(String::as_str).collect()),
        name = r.name,
    )
}

/// An Express app serving the metadata and checking tokens with jose.
fn node_snippet(issuer: &str, r: &Resource, metadata: &Value, path: &str) -> String {
    let meta_path = url::Url::parse(&crate::resource_metadata::metadata_url(r))
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let pretty = serde_json::to_string_pretty(metadata).unwrap_or_default();
    format!(
        r#"// npm install express jose
import express from 'express';
import {{ createRemoteJWKSet, jwtVerify }} from 'jose';

const METADATA = {pretty};
const WWW_AUTHENTICATE = {www};
const JWKS = createRemoteJWKSet(new URL({jwks}));

const app = express();
app.get({meta_path}, (req, res) => res.json(METADATA));
app.use({path}, async (req, res, next) => {{
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Bearer ')) {{
    return res.status(401).set('WWW-Authenticate', WWW_AUTHENTICATE).end();
  }}
  try {{
    const {{ payload }} = await jwtVerify(h.slice(7), JWKS, {{
      issuer: {issuer}, audience: {uri}, typ: 'at+jwt', algorithms: ['ES256', 'RS256', 'EdDSA'],
    }});
    req.auth = payload; // payload.scope: space-separated granted scopes
    next();
  }} catch {{
    res.status(401).set('WWW-Authenticate', WWW_AUTHENTICATE + ', error="invalid_token"').end();
  }}
}});
// ...your MCP routes under {path_plain}
"#,
        www = js(&crate::resource_metadata::www_authenticate(r)),
        jwks = js(&format!("{issuer}/jwks.json")),
        meta_path = js(&meta_path),
        path = js(path),
        path_plain = path,
        issuer = js(issuer),
        uri = js(&r.uri),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let p = bearer_params(
            r#"Bearer resource_metadata="https://x/.well-known/oauth-protected-resource/mcp", scope="a b""#,
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                (
                    "resource_metadata".into(),
                    "https://x/.well-known/oauth-protected-resource/mcp".into()
                ),
                ("scope".into(), "a b".into())
            ]
        );
        let p =
            bearer_params(r#"Basic realm="x", Bearer error=invalid_token, realm="a\"b""#).unwrap();
        assert_eq!(p[0], ("error".into(), "invalid_token".into()));
        assert_eq!(p[1], ("realm".into(), "a\"b".into()));
        assert!(bearer_params(r#"Basic realm="bearer""#).is_none());
        assert_eq!(bearer_params("Bearer").unwrap(), vec![]);
    }

    #[test]
    fn address_guard_is_the_outbound_policy() {
        use crate::outbound::AddressPolicy;
        let strict = AddressPolicy::default();
        let private = AddressPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd00:ec2::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert!(!strict.permits(ip), "{ip}");
            assert!(private.permits(ip), "{ip}");
        }
        // Never, not even for servers on private networks: cloud metadata,
        // link-local, unspecified, NAT64 of a private address.
        for ip in [
            "169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "fe80::1",
            "0.0.0.0",
            "64:ff9b::a00:1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert!(!strict.permits(ip), "{ip}");
            assert!(!private.permits(ip), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(strict.permits(ip.parse().unwrap()), "{ip}");
        }
    }
}
