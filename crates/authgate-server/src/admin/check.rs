//! The connection check: authgate fetches an MCP server's URL and its
//! path-inserted metadata URL, server-side, and reports point by point what
//! an MCP client will see. Plus the copy-ready snippets for the MCP server.
//!
//! Fetches are SSRF-guarded like client metadata documents: only public
//! unicast addresses (checked in the resolver, so the address dialled is
//! the address checked), no redirects, no proxies, small bodies, short
//! timeouts. `admin_connection_check_allow_private = true` lifts the
//! address rule for MCP servers on loopback or private networks.

use super::types::{CheckPoint, CheckReport, Snippets};
use crate::app::AppState;
use authgate_core::model::Resource;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const MAX_BODY: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

// ------------------------------------------------------------- SSRF guard

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn public_v4(ip: Ipv4Addr) -> bool {
    const SPECIAL: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 88, 99, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
    ];
    !SPECIAL.iter().any(|(n, p)| in_v4(ip, *n, *p))
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let o = ip.octets();
        return public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || s[0] & 0xfe00 == 0xfc00 // unique local
        || s[0] & 0xffc0 == 0xfe80 // link-local
        || s[0] & 0xff00 == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF special (Teredo, benchmarking…)
        || s[0] == 0x2002 // 6to4
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // NAT64 local-use
        || s[..6] == [0, 0, 0, 0, 0, 0]; // IPv4-compatible
    !special
}

/// Whether the check may connect to `ip`.
pub fn permitted(ip: IpAddr, allow_private: bool) -> bool {
    allow_private
        || match ip {
            IpAddr::V4(v4) => public_v4(v4),
            IpAddr::V6(v6) => public_v6(v6),
        }
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("every address of the host is private or special-use")
    }
}

impl std::error::Error for Refused {}

struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| permitted(a.ip(), allow))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

fn describe_error(e: &reqwest::Error) -> String {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.downcast_ref::<Refused>().is_some() {
            return "its address is private or special-use, which the check does not connect to (set admin_connection_check_allow_private = true for servers on private networks)".into();
        }
        src = s.source();
    }
    if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "the connection failed (is the server running and reachable from authgate?)".into()
    } else {
        "the request failed".into()
    }
}

struct Guarded {
    http: reqwest::Client,
    allow_private: bool,
}

impl Guarded {
    fn new(allow_private: bool) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!(
                "authgate-connection-check/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            allow_private,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Fetched, String> {
        let u = url::Url::parse(url).map_err(|_| "not a URL".to_string())?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err("only http(s) URLs are checked".into());
        }
        let literal = match u.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("the URL has no host".into()),
        };
        if let Some(ip) = literal
            && !permitted(ip, self.allow_private)
        {
            return Err("its address is private or special-use, which the check does not connect to (set admin_connection_check_allow_private = true for servers on private networks)".into());
        }
        let mut resp = req.send().await.map_err(|e| describe_error(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            if body.len() + chunk.len() > MAX_BODY {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body,
        })
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
pub async fn run(state: &AppState, r: &Resource) -> CheckReport {
    let issuer = state.settings.issuer.clone();
    let metadata_url = crate::resource_metadata::metadata_url(r);
    let mut pts = Points(Vec::new());
    let report = |pts: Points| CheckReport {
        resource_id: r.id.clone(),
        target: r.uri.clone(),
        metadata_url: metadata_url.clone(),
        ok: pts.0.iter().all(|p| p.ok),
        points: pts.0,
    };
    let g = match Guarded::new(state.settings.raw.admin_connection_check_allow_private) {
        Ok(g) => g,
        Err(e) => {
            pts.add("reach", L_REACH, false, e);
            return report(pts);
        }
    };
    // 1. What a client's first request meets: MCP `initialize`, no token.
    let init = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "authgate-connection-check", "version": env!("CARGO_PKG_VERSION")}}
    });
    let req = g
        .http
        .post(&r.uri)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(init.to_string());
    match g.send(req, &r.uri).await {
        Err(e) => {
            pts.add("reach", L_REACH, false, format!("{}: {e}", r.uri));
            for (id, l) in [
                ("unauthorized", L_401),
                ("challenge", L_BEARER),
                ("challenge.resource_metadata", L_RM),
            ] {
                pts.skip(id, l, "the MCP server could not be reached");
            }
        }
        Ok(f) => {
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
            let values: Vec<String> = f
                .headers
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            let params = values.iter().find_map(|v| bearer_params(v));
            match &params {
                None => {
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
                }
                Some(params) => {
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
                        let advertised: Vec<String> = s
                            .split(' ')
                            .filter(|x| !x.is_empty())
                            .map(str::to_owned)
                            .collect();
                        let bad: Vec<String> = advertised
                            .iter()
                            .filter(|x| {
                                *x == "offline_access" || !r.scopes.iter().any(|d| &d.name == *x)
                            })
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
                }
            }
        }
    }
    // 2. Protected resource metadata at the path-inserted URL.
    let req = g
        .http
        .get(&metadata_url)
        .header("accept", "application/json");
    let doc = match g.send(req, &metadata_url).await {
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
    };
    match doc {
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
            match doc.get("resource").and_then(Value::as_str) {
                Some(v) if v == r.uri => {
                    pts.add("metadata.resource", L_RES, true, format!("\"{v}\""))
                }
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
            let servers: Option<Vec<String>> = doc
                .get("authorization_servers")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                });
            match servers {
                Some(s) if s.contains(&issuer) => pts.add(
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
    }
    report(pts)
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
    let rust = format!(
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
    );
    let meta_path = url::Url::parse(&crate::resource_metadata::metadata_url(r))
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let pretty = serde_json::to_string_pretty(metadata).unwrap_or_default();
    let node = format!(
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
        path = js(&path),
        path_plain = path,
        issuer = js(issuer),
        uri = js(&r.uri),
    );
    Snippets { rust, node }
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
    fn address_guard() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "0.0.0.0",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!permitted(ip, false), "{ip}");
            assert!(permitted(ip, true), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(permitted(ip.parse().unwrap(), false), "{ip}");
        }
    }
}
