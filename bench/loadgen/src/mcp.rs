//! MCP over streamable HTTP, as a client sends it: the `initialize`
//! handshake once per worker (the session id it answers is sent on every
//! later request), then `tools/call` POSTs with the `Mcp-Method` /
//! `Mcp-Name` headers, each answer checked: 200, a JSON-RPC result for the
//! request's id (plain JSON or one SSE event), no JSON-RPC error, no
//! `isError`, and the caller the tool saw is the token's client.
//!
//! Also the idle streams of the memory measurement: a session's `GET`
//! (`Accept: text/event-stream`), held open.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::conn::{Conn, Endpoint};
use crate::flows::Check;

/// The protocol revision the client negotiates: sessions, and the standard
/// `Mcp-Method` / `Mcp-Name` headers are sent anyway (a gateway checks
/// that they agree with the body).
pub const PROTOCOL_VERSION: &str = "2025-06-18";
const SESSION: &str = "mcp-session-id";

/// What every worker of a run shares.
pub struct McpSetup {
    pub endpoint: Endpoint,
    pub bearer: HeaderValue,
    pub tool: String,
    pub arguments: Value,
    /// The `client_id` the `whoami`-style answer must name (`None`: not
    /// checked, for tools that do not echo the caller).
    pub expect_client_id: Option<String>,
}

/// One worker: its session and the next request id.
pub struct McpCall {
    pub setup: std::sync::Arc<McpSetup>,
    pub session: Option<HeaderValue>,
    pub next_id: u64,
}

/// The JSON-RPC messages of a body: one JSON value (or a batch), or the
/// `data:` of each SSE event (events without data, such as a priming
/// event, are skipped).
pub fn messages(
    content_type: Option<&HeaderValue>,
    body: &[u8],
) -> Result<Vec<Value>, &'static str> {
    let sse = content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        return match serde_json::from_slice::<Value>(body).map_err(|_| "mcp_not_json")? {
            Value::Array(batch) => Ok(batch),
            one => Ok(vec![one]),
        };
    }
    let text = std::str::from_utf8(body).map_err(|_| "mcp_sse_not_utf8")?;
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.iter().all(|d| d.is_empty()) {
            continue;
        }
        out.push(serde_json::from_str(&data.join("\n")).map_err(|_| "mcp_sse_data_not_json")?);
    }
    Ok(out)
}

/// The `result` of the answer to request `id`, or the error's label.
pub fn result_for(messages: &[Value], id: u64) -> Result<&Value, &'static str> {
    let answer = messages
        .iter()
        .find(|m| m.get("id").and_then(Value::as_u64) == Some(id))
        .ok_or("mcp_no_answer_for_id")?;
    if answer.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("mcp_not_jsonrpc");
    }
    if answer.get("error").is_some() {
        return Err("mcp_jsonrpc_error");
    }
    answer.get("result").ok_or("mcp_no_result")
}

/// Checks a `tools/call` result: not `isError`, and (when asked) the caller
/// the tool saw.
pub fn check_tool_result(result: &Value, expect_client_id: Option<&str>) -> Check {
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err("mcp_tool_is_error");
    }
    if let Some(client_id) = expect_client_id {
        let seen = result
            .get("structuredContent")
            .and_then(|c| c.get("client_id"))
            .and_then(Value::as_str);
        if seen != Some(client_id) {
            return Err("mcp_wrong_caller");
        }
    }
    Ok(())
}

fn status(got: StatusCode, want: u16) -> Check {
    if got.as_u16() == want {
        return Ok(());
    }
    Err(match got.as_u16() {
        202 => "mcp_status_202",
        400 => "mcp_status_400",
        401 => "mcp_status_401",
        403 => "mcp_status_403",
        404 => "mcp_status_404",
        406 => "mcp_status_406",
        413 => "mcp_status_413",
        502 => "mcp_status_502",
        504 => "mcp_status_504",
        s if s < 500 => "mcp_status_4xx_other",
        _ => "mcp_status_5xx_other",
    })
}

impl McpSetup {
    /// A POST of `body` with the MCP headers (`name`: the tool, if any).
    fn post(
        &self,
        session: Option<&HeaderValue>,
        method: &str,
        name: Option<&str>,
        body: &Value,
    ) -> Result<Request<Full<Bytes>>, &'static str> {
        let mut b = self
            .endpoint
            .request(Method::POST)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::AUTHORIZATION, self.bearer.clone())
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .header("mcp-method", method);
        if let Some(name) = name {
            b = b.header("mcp-name", name);
        }
        if let Some(s) = session {
            b = b.header(SESSION, s.clone());
        }
        b.body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| "request_unbuildable")
    }

    /// `initialize`, then `notifications/initialized`: the session id
    /// (`None` when the server runs without sessions).
    pub async fn handshake(
        &self,
        conn: &mut Conn,
        timeout: Duration,
    ) -> Result<Option<HeaderValue>, &'static str> {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "authgate-loadgen", "version": env!("CARGO_PKG_VERSION")},
        }});
        let reply = conn
            .send(self.post(None, "initialize", None, &init)?, timeout)
            .await?;
        status(reply.status, 200).map_err(|_| "mcp_initialize_status")?;
        let msgs = messages(reply.headers.get(header::CONTENT_TYPE), &reply.body)?;
        let result = result_for(&msgs, 0)?;
        if result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .is_none()
        {
            return Err("mcp_initialize_shape");
        }
        let session = reply.headers.get(SESSION).cloned();
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let reply = conn
            .send(
                self.post(session.as_ref(), "notifications/initialized", None, &done)?,
                timeout,
            )
            .await?;
        status(reply.status, 202).map_err(|_| "mcp_initialized_status")?;
        Ok(session)
    }

    /// The `GET` that opens a session's stream of server messages.
    pub fn stream_request(
        &self,
        session: Option<&HeaderValue>,
    ) -> Result<Request<Full<Bytes>>, &'static str> {
        let mut b = self
            .endpoint
            .request(Method::GET)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::AUTHORIZATION, self.bearer.clone())
            .header("mcp-protocol-version", PROTOCOL_VERSION);
        if let Some(s) = session {
            b = b.header(SESSION, s.clone());
        }
        b.body(Full::new(Bytes::new()))
            .map_err(|_| "request_unbuildable")
    }
}

impl McpCall {
    /// One checked `tools/call` (after the handshake, on a worker's first
    /// call only).
    pub async fn run(&mut self, conn: &mut Conn, timeout: Duration) -> Check {
        if self.session.is_none() {
            self.session = self.setup.handshake(conn, timeout).await?;
            // A server without sessions answers no id; don't shake hands again.
            if self.session.is_none() {
                self.session = Some(HeaderValue::from_static(""));
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        let s = &self.setup;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": s.tool, "arguments": s.arguments}});
        let session = self.session.as_ref().filter(|v| !v.is_empty());
        let request = s.post(session, "tools/call", Some(&s.tool), &body)?;
        let reply = conn.send(request, timeout).await?;
        status(reply.status, 200)?;
        let msgs = messages(reply.headers.get(header::CONTENT_TYPE), &reply.body)?;
        check_tool_result(result_for(&msgs, id)?, s.expect_client_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_and_json_bodies_give_their_messages() {
        let sse = HeaderValue::from_static("text/event-stream");
        let body = b"id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
        let m = messages(Some(&sse), body).unwrap();
        assert_eq!(m.len(), 1);
        assert!(result_for(&m, 7).is_ok());
        assert_eq!(result_for(&m, 8), Err("mcp_no_answer_for_id"));
        let json_ct = HeaderValue::from_static("application/json");
        let m = messages(
            Some(&json_ct),
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601}}"#,
        )
        .unwrap();
        assert_eq!(result_for(&m, 1), Err("mcp_jsonrpc_error"));
        assert_eq!(messages(Some(&json_ct), b"nope"), Err("mcp_not_json"));
        assert_eq!(
            messages(Some(&sse), b"data: {broken\n\n"),
            Err("mcp_sse_data_not_json")
        );
    }

    #[test]
    fn a_tool_result_must_not_be_an_error_and_name_the_caller() {
        let ok = json!({"structuredContent": {"client_id": "c1"}});
        assert!(check_tool_result(&ok, Some("c1")).is_ok());
        assert_eq!(check_tool_result(&ok, Some("c2")), Err("mcp_wrong_caller"));
        let err = json!({"isError": true, "content": []});
        assert_eq!(check_tool_result(&err, None), Err("mcp_tool_is_error"));
        assert!(check_tool_result(&json!({"content": []}), None).is_ok());
    }
}
