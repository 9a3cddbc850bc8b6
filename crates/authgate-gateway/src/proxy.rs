//! The proxy handler: framing checks, authentication (authgate-resource),
//! the policy (tools, prompts, resources), then the upstream; list answers filtered on the way
//! back, everything else streamed through as it comes.

use crate::audit::AuditRow;
use crate::filter::{MAX_FILTERED_BYTES, SseFilter, Visible};
use crate::forward::{self, Failure};
use crate::gather::gather;
use crate::jsonrpc::{self, Parsed, code};
use crate::policy::{Decision, Kind, Policy};
use crate::state::{Route, Shared, now};
use authgate_resource::{Claims, ValidationError, bearer_token, error_response};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// One `tools/call` (`prompts/get`, `resources/read`) of a request, as
/// audited.
struct Call {
    kind: Kind,
    tool: String,
    /// The metrics label: the matching rule's pattern (bounded by the
    /// configuration, unlike names a client makes up), or `(unknown)`.
    label: String,
    arguments: Option<Value>,
}

/// How the policy judged a request's guarded messages.
enum Verdict {
    Pass,
    /// A call without its name (URI).
    Malformed,
    /// A tool (prompt, resource) no scope unlocks.
    Denied,
    /// Scopes the token lacks (union over the calls).
    Insufficient(Vec<String>),
}

fn judge(policy: &Policy, claims: &Claims, parsed: &Parsed) -> (Verdict, Vec<Call>) {
    let mut calls = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let (mut denied, mut malformed) = (false, false);
    for (m, kind, name) in parsed.guarded() {
        let Some(name) = name else {
            malformed = true;
            continue;
        };
        let (label, log_arguments) = match policy.decide_for(kind, name) {
            Decision::Denied => {
                denied = true;
                ("(unknown)".to_owned(), false)
            }
            Decision::Needs { scopes, rule } => {
                for s in scopes {
                    if !claims.has_scope(s) && !missing.contains(s) {
                        missing.push(s.clone());
                    }
                }
                match rule {
                    Some(r) => (r.pattern.clone(), r.log_arguments),
                    None => ("(unknown)".to_owned(), false),
                }
            }
        };
        calls.push(Call {
            kind,
            tool: name.to_owned(),
            label,
            arguments: log_arguments
                .then(|| m.get("params").and_then(|p| p.get("arguments")).cloned())
                .flatten(),
        });
    }
    let verdict = if malformed {
        Verdict::Malformed
    } else if denied {
        Verdict::Denied
    } else if !missing.is_empty() {
        Verdict::Insufficient(missing)
    } else {
        Verdict::Pass
    };
    (verdict, calls)
}

/// Metrics and audit rows for the guarded messages of one request.
fn record(
    s: &Shared,
    route: &Route,
    claims: &Claims,
    calls: Vec<Call>,
    outcome: &'static str,
    status: StatusCode,
    started: Instant,
) {
    let elapsed = started.elapsed();
    for c in calls {
        let labels = [
            ("upstream", route.up.name.clone()),
            ("kind", c.kind.label().to_owned()),
            ("tool", c.label),
            ("outcome", outcome.to_owned()),
        ];
        metrics::counter!("authgate_gateway_tool_calls_total", &labels).increment(1);
        metrics::histogram!("authgate_gateway_tool_call_duration_seconds", &labels[..3])
            .record(elapsed.as_secs_f64());
        s.audit.record(AuditRow {
            time: now(),
            upstream: route.up.name.clone(),
            kind: c.kind.label(),
            tool: c.tool,
            sub: claims.sub.clone(),
            client_id: claims.client_id.clone(),
            outcome,
            status: status.as_u16(),
            latency_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            arguments: c.arguments,
        });
    }
}

fn count_request(route: &Route, outcome: &'static str) {
    metrics::counter!("authgate_gateway_requests_total",
        "upstream" => route.up.name.clone(), "outcome" => outcome)
    .increment(1);
}

fn not_found() -> Response {
    jsonrpc::error(
        StatusCode::NOT_FOUND,
        Value::Null,
        code::INVALID_REQUEST,
        "no MCP server is served at this path",
    )
}

fn too_large(id: Value) -> Response {
    jsonrpc::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        id,
        code::INVALID_REQUEST,
        "the request body is larger than the gateway accepts",
    )
}

/// The handler for every upstream path: preflights answered here, CORS
/// headers on every answer (for allowed origins).
pub async fn handle(State(s): State<Arc<Shared>>, req: Request<Body>) -> Response {
    let Some(route) = s.route(req.uri().path()).cloned() else {
        return not_found();
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    if req.method() == Method::OPTIONS {
        // A preflight carries no token by design (Fetch standard).
        return s.cors.preflight(origin.as_ref());
    }
    let mut resp = authenticated(&s, route, req).await;
    s.cors.decorate(origin.as_ref(), resp.headers_mut());
    resp
}

async fn authenticated(s: &Arc<Shared>, route: Arc<Route>, req: Request<Body>) -> Response {
    let h = req.headers();
    // One body framing: a request with both, or with two lengths, could be
    // read differently by the upstream (request smuggling).
    if (h.contains_key(header::TRANSFER_ENCODING) && h.contains_key(header::CONTENT_LENGTH))
        || h.get_all(header::CONTENT_LENGTH).iter().count() > 1
    {
        count_request(&route, "rejected");
        return jsonrpc::error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            code::INVALID_REQUEST,
            "ambiguous body framing (Content-Length with Transfer-Encoding)",
        );
    }
    let challenge = route.resource.challenge().clone();
    let claims = match bearer_token(h) {
        Ok(token) => route.resource.validator().validate(token).await,
        Err(e) => Err(e),
    };
    let claims = match claims {
        Ok(c) => c,
        Err(e) => {
            count_request(&route, "unauthorized");
            return error_response(&e, Some(&challenge), None);
        }
    };
    match *req.method() {
        Method::POST => post(s, &route, claims, req).await,
        Method::GET | Method::DELETE => {
            let (parts, _) = req.into_parts();
            // GET (the server-to-client stream) and DELETE (ending a
            // session) carry no body: none is forwarded.
            match forward::send(
                s,
                &route,
                parts.method,
                &parts.uri,
                &parts.headers,
                Body::empty(),
                &claims,
            )
            .await
            {
                Ok(resp) => {
                    count_request(&route, "forwarded");
                    passthrough(s, resp)
                }
                Err(f) => {
                    count_request(&route, f.outcome());
                    f.response(&route, s, Value::Null)
                }
            }
        }
        _ => {
            let mut r = jsonrpc::error(
                StatusCode::METHOD_NOT_ALLOWED,
                Value::Null,
                code::INVALID_REQUEST,
                "use POST, GET or DELETE",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, GET, DELETE"));
            r
        }
    }
}

/// The upstream's response, streamed through unchanged (headers cleaned;
/// cut at the end of the shutdown grace period).
fn passthrough(s: &Shared, resp: hyper::Response<hyper::body::Incoming>) -> Response {
    let (mut parts, body) = resp.into_parts();
    forward::strip_response_headers(&mut parts.headers);
    Response::from_parts(parts, Body::new(s.cutter.wrap(body)))
}

async fn post(s: &Shared, route: &Route, claims: Arc<Claims>, req: Request<Body>) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.max_body as u64) {
        count_request(route, "too_large");
        return too_large(Value::Null);
    }
    let bytes: Bytes = match Limited::new(body, s.max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            count_request(route, "too_large");
            return too_large(Value::Null);
        }
        Err(_) => {
            count_request(route, "rejected");
            return jsonrpc::error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                code::INVALID_REQUEST,
                "the request body could not be read",
            );
        }
    };
    let parsed = match jsonrpc::parse(&bytes) {
        Ok(p) => p,
        Err((c, msg)) => {
            count_request(route, "rejected");
            return jsonrpc::error(StatusCode::BAD_REQUEST, Value::Null, c, msg);
        }
    };
    let id = parsed.reply_id();
    if let Err(msg) = jsonrpc::check_headers(&parts.headers, &parsed) {
        count_request(route, "header_mismatch");
        return jsonrpc::error(StatusCode::BAD_REQUEST, id, code::HEADER_MISMATCH, &msg);
    }
    let policy = route.policy.get();
    let (verdict, calls) = judge(&policy, &claims, &parsed);
    let refusal = match verdict {
        Verdict::Pass => None,
        Verdict::Malformed => Some((
            "rejected",
            jsonrpc::error(
                StatusCode::BAD_REQUEST,
                id.clone(),
                code::INVALID_REQUEST,
                "tools/call or prompts/get without a name, or resources/read or resources/subscribe without a uri",
            ),
        )),
        Verdict::Denied => Some((
            "denied",
            jsonrpc::error(
                StatusCode::FORBIDDEN,
                id.clone(),
                code::FORBIDDEN,
                "the gateway's policy does not allow this tool, prompt or resource",
            ),
        )),
        Verdict::Insufficient(required) => Some((
            "insufficient_scope",
            error_response(
                &ValidationError::InsufficientScope { required },
                Some(route.resource.challenge()),
                Some(&claims),
            ),
        )),
    };
    if let Some((outcome, resp)) = refusal {
        count_request(route, outcome);
        record(s, route, &claims, calls, outcome, resp.status(), started);
        return resp;
    }
    let ids = parsed.lists();
    let visible = (route.hides_lists() && !ids.is_empty()).then(|| Visible {
        policy: policy.clone(),
        claims: claims.clone(),
        ids: Arc::from(ids),
    });
    let resp = forward::send(
        s,
        route,
        parts.method,
        &parts.uri,
        &parts.headers,
        Body::from(bytes),
        &claims,
    )
    .await;
    let resp = match resp {
        Ok(r) => r,
        Err(f) => {
            count_request(route, f.outcome());
            let r = f.response(route, s, id);
            record(s, route, &claims, calls, f.outcome(), r.status(), started);
            return r;
        }
    };
    count_request(route, "forwarded");
    record(s, route, &claims, calls, "allowed", resp.status(), started);
    match visible {
        Some(v) if resp.status() == StatusCode::OK => filtered(resp, v, route, s, id).await,
        _ => {
            // The answer to a call usually arrives whole: sent on in one
            // write with its head (gather.rs).
            let (mut parts, body) = resp.into_parts();
            forward::strip_response_headers(&mut parts.headers);
            let body = gather(body).await;
            Response::from_parts(parts, Body::new(s.cutter.wrap(body)))
        }
    }
}

/// The answer to a request holding a list request, with the entries the
/// token may not use removed.
async fn filtered(
    resp: hyper::Response<hyper::body::Incoming>,
    visible: Visible,
    route: &Route,
    s: &Shared,
    id: Value,
) -> Response {
    let (mut parts, body) = resp.into_parts();
    forward::strip_response_headers(&mut parts.headers);
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("text/event-stream") {
        let filtered = SseFilter::new(body, visible);
        return Response::from_parts(parts, Body::new(s.cutter.wrap(filtered)));
    }
    if !ct.starts_with("application/json") {
        return Response::from_parts(parts, Body::new(s.cutter.wrap(body)));
    }
    let bytes = match Limited::new(body, MAX_FILTERED_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Failure::BadAnswer.response(route, s, id),
    };
    let out = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            if visible.apply(&mut v) {
                Bytes::from(v.to_string())
            } else {
                bytes
            }
        }
        Err(_) => bytes,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}
