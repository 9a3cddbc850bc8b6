//! The JSON-RPC side of a request: the body's messages, the standard
//! headers that mirror them (`Mcp-Method`, `Mcp-Name`; MCP 2026-07-28,
//! SEP-2243) and the gateway's own JSON-RPC error responses.

use crate::policy::Kind;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

pub const MCP_METHOD: &str = "mcp-method";
pub const MCP_NAME: &str = "mcp-name";
pub const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// The first protocol revision whose clients MUST send `Mcp-Method`.
pub const HEADERS_REQUIRED_FROM: &str = "2026-07-28";

/// JSON-RPC error codes the gateway answers with.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    /// SEP-2243 `HeaderMismatch`.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// Refused by the gateway's policy or an upstream failure (implementation-defined
    /// server error range).
    pub const FORBIDDEN: i64 = -32001;
    pub const UPSTREAM: i64 = -32002;
}

/// The messages of a POST body.
#[derive(Debug)]
pub struct Parsed {
    pub messages: Vec<Value>,
    pub batch: bool,
}

impl Parsed {
    /// The id to answer a refusal with: the single request's id, else null.
    pub fn reply_id(&self) -> Value {
        match (&self.batch, self.messages.first()) {
            (false, Some(m)) => m.get("id").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// The messages the policy guards: `tools/call`, `prompts/get`,
    /// `resources/read`, `resources/subscribe`, with the name (URI) they
    /// use (None when it is missing or not a string).
    pub fn guarded(&self) -> impl Iterator<Item = (&Value, Kind, Option<&str>)> {
        self.messages.iter().filter_map(|m| {
            let (kind, field) = match method(m)? {
                "tools/call" => (Kind::Tool, "name"),
                "prompts/get" => (Kind::Prompt, "name"),
                "resources/read" | "resources/subscribe" => (Kind::Resource, "uri"),
                _ => return None,
            };
            let name = m
                .get("params")
                .and_then(|p| p.get(field))
                .and_then(Value::as_str);
            Some((m, kind, name))
        })
    }

    /// The list requests whose answers are filtered: their ids and lists.
    pub fn lists(&self) -> Vec<(Value, List)> {
        self.messages
            .iter()
            .filter_map(|m| Some((m.get("id")?.clone(), List::of(method(m)?)?)))
            .collect()
    }
}

/// A list method whose answers `list_filter = "hide"` filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Tools,
    Prompts,
    Resources,
    ResourceTemplates,
}

impl List {
    fn of(method: &str) -> Option<Self> {
        Some(match method {
            "tools/list" => Self::Tools,
            "prompts/list" => Self::Prompts,
            "resources/list" => Self::Resources,
            "resources/templates/list" => Self::ResourceTemplates,
            _ => return None,
        })
    }

    /// The result's array, the field of each entry the policy judges, and
    /// the kind of rules that judge it. A template is judged by its
    /// `uriTemplate` text against the resource rules (`weather://*`
    /// matches `weather://{city}`); one no rule covers is hidden.
    pub fn shape(self) -> (&'static str, &'static str, Kind) {
        match self {
            Self::Tools => ("tools", "name", Kind::Tool),
            Self::Prompts => ("prompts", "name", Kind::Prompt),
            Self::Resources => ("resources", "uri", Kind::Resource),
            Self::ResourceTemplates => ("resourceTemplates", "uriTemplate", Kind::Resource),
        }
    }
}

pub fn method(m: &Value) -> Option<&str> {
    m.get("method").and_then(Value::as_str)
}

/// Parses a body: one JSON-RPC message or a non-empty batch of them.
pub fn parse(body: &[u8]) -> Result<Parsed, (i64, &'static str)> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| (code::PARSE_ERROR, "the body is not JSON"))?;
    let (messages, batch) = match v {
        Value::Array(a) => (a, true),
        o @ Value::Object(_) => (vec![o], false),
        _ => return Err((code::INVALID_REQUEST, "the body is not a JSON-RPC message")),
    };
    if messages.is_empty() {
        return Err((code::INVALID_REQUEST, "an empty batch"));
    }
    for m in &messages {
        let Some(o) = m.as_object() else {
            return Err((code::INVALID_REQUEST, "a batch element is not an object"));
        };
        if let Some(method) = o.get("method")
            && !method.is_string()
        {
            return Err((code::INVALID_REQUEST, "method is not a string"));
        }
    }
    Ok(Parsed { messages, batch })
}

/// The body field `Mcp-Name` mirrors for `method`.
fn name_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        _ => None,
    }
}

/// Methods on which a 2026-07-28 client MUST send `Mcp-Name`.
fn name_required(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

/// One header value, refusing repeats and non-ASCII.
fn single<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    let mut all = h.get_all(name).iter();
    let Some(v) = all.next() else { return Ok(None) };
    if all.next().is_some() {
        return Err(format!("{name} is sent more than once"));
    }
    v.to_str()
        .map(Some)
        .map_err(|_| format!("{name} is not visible ASCII"))
}

/// Decodes the SEP-2243 sentinel form `=?base64?…?=`.
fn decode_name(v: &str) -> Result<String, String> {
    match v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| "Mcp-Name has an invalid base64 value".to_owned()),
        None => Ok(v.to_owned()),
    }
}

/// Whether the request's protocol revision requires the standard headers
/// (revisions are dates, `YYYY-MM-DD`, so they compare as strings).
fn headers_required(h: &HeaderMap) -> Result<bool, String> {
    Ok(single(h, MCP_PROTOCOL_VERSION)?
        .is_some_and(|v| v.len() == 10 && v >= HEADERS_REQUIRED_FROM))
}

/// The spec's MUST: headers that disagree with the body are refused. A
/// client of a revision before 2026-07-28 may send none (the body alone is
/// judged); one of 2026-07-28 or later must send `Mcp-Method`, and
/// `Mcp-Name` on `tools/call`, `prompts/get` and `resources/read`. A batch
/// cannot be described by one header, so headers on a batch are refused.
pub fn check_headers(h: &HeaderMap, p: &Parsed) -> Result<(), String> {
    let required = headers_required(h)?;
    let hm = single(h, MCP_METHOD)?;
    let hn = single(h, MCP_NAME)?.map(decode_name).transpose()?;
    if p.batch {
        if hm.is_some() || hn.is_some() {
            return Err("Mcp-Method and Mcp-Name cannot describe a batch".into());
        }
        return Ok(());
    }
    let m = &p.messages[0];
    let Some(body_method) = method(m) else {
        // A response or error from the client: no method to mirror.
        if hm.is_some() || hn.is_some() {
            return Err("Mcp-Method is sent with a message that has no method".into());
        }
        return Ok(());
    };
    match hm {
        Some(v) if v != body_method => {
            return Err(format!(
                "Mcp-Method {v:?} does not match the body's method {body_method:?}"
            ));
        }
        None if required => return Err("Mcp-Method is missing".into()),
        _ => {}
    }
    let body_name = name_field(body_method)
        .and_then(|f| m.get("params").and_then(|p| p.get(f)))
        .and_then(Value::as_str);
    match (hn, body_name) {
        (Some(v), Some(b)) if v != b => {
            Err(format!("Mcp-Name {v:?} does not match the body's {b:?}"))
        }
        (Some(_), None) => Err("Mcp-Name is sent but the body names nothing".into()),
        (None, Some(_)) if required && name_required(body_method) => {
            Err("Mcp-Name is missing".into())
        }
        _ => Ok(()),
    }
}

/// A JSON-RPC error response with HTTP `status`.
pub fn error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const CALL: &[u8] =
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"set_alert"}}"#;

    #[test]
    fn agreement() {
        let p = parse(CALL).unwrap();
        assert!(check_headers(&headers(&[]), &p).is_ok());
        assert!(
            check_headers(
                &headers(&[("mcp-method", "tools/call"), ("mcp-name", "set_alert")]),
                &p
            )
            .is_ok()
        );
        assert!(check_headers(&headers(&[("mcp-name", "get_forecast")]), &p).is_err());
        assert!(check_headers(&headers(&[("mcp-method", "tools/list")]), &p).is_err());
        assert!(
            check_headers(
                &headers(&[("mcp-name", "set_alert"), ("mcp-name", "set_alert")]),
                &p
            )
            .is_err()
        );
        // base64 sentinel
        assert!(check_headers(&headers(&[("mcp-name", "=?base64?c2V0X2FsZXJ0?=")]), &p).is_ok());
        // 2026-07-28 clients must send them.
        let modern = [("mcp-protocol-version", "2026-07-28")];
        assert!(check_headers(&headers(&modern), &p).is_err());
        assert!(check_headers(&headers(&[modern[0], ("mcp-method", "tools/call")]), &p).is_err());
        let batch = parse(&[b"[", CALL, b"]"].concat()).unwrap();
        assert!(check_headers(&headers(&[]), &batch).is_ok());
        assert!(check_headers(&headers(&[("mcp-method", "tools/call")]), &batch).is_err());
    }

    #[test]
    fn parsing() {
        assert_eq!(parse(b"nope").unwrap_err().0, code::PARSE_ERROR);
        assert_eq!(parse(b"[]").unwrap_err().0, code::INVALID_REQUEST);
        assert_eq!(parse(b"[1]").unwrap_err().0, code::INVALID_REQUEST);
        assert_eq!(
            parse(br#"{"method":1}"#).unwrap_err().0,
            code::INVALID_REQUEST
        );
        let p = parse(
            br#"[{"id":7,"method":"tools/list"},{"method":"tools/call","params":{"name":"x"}}]"#,
        )
        .unwrap();
        assert_eq!(p.lists(), vec![(json!(7), List::Tools)]);
        assert_eq!(
            p.guarded().map(|t| (t.1, t.2)).collect::<Vec<_>>(),
            [(Kind::Tool, Some("x"))]
        );
        let p = parse(
            br#"[{"id":1,"method":"prompts/get","params":{"name":"brief"}},{"id":2,"method":"resources/read","params":{"uri":"w://a"}},{"id":3,"method":"resources/subscribe","params":{}},{"id":4,"method":"resources/templates/list"}]"#,
        )
        .unwrap();
        assert_eq!(
            p.guarded().map(|t| (t.1, t.2)).collect::<Vec<_>>(),
            [
                (Kind::Prompt, Some("brief")),
                (Kind::Resource, Some("w://a")),
                (Kind::Resource, None)
            ]
        );
        assert_eq!(p.lists(), vec![(json!(4), List::ResourceTemplates)]);
    }
}
