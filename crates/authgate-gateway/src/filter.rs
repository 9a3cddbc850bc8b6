//! List filtering (`list_filter = "hide"`): the upstream's answer to a
//! `tools/list` (`prompts/list`, `resources/list`,
//! `resources/templates/list`) keeps only the entries the token may use,
//! whether it comes
//! as one JSON body or as a Server-Sent Events stream (each `data:` event
//! holding the list response is rewritten; every other event passes as is).

use crate::jsonrpc::List;
use crate::policy::Policy;
use authgate_resource::Claims;
use bytes::Bytes;
use http_body::{Body, Frame};
use serde_json::Value;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Largest SSE event (or JSON list answer) held for filtering; beyond it
/// the stream fails rather than pass an unfiltered list.
pub const MAX_FILTERED_BYTES: usize = 16 * 1024 * 1024;

/// What a token may see.
#[derive(Clone)]
pub struct Visible {
    pub policy: Arc<Policy>,
    pub claims: Arc<Claims>,
    /// The ids of the list requests whose answers are filtered, with
    /// their lists.
    pub ids: Arc<[(Value, List)]>,
}

impl Visible {
    /// Filters the list answers in `v` (one response or a batch of them);
    /// true when something was removed.
    pub fn apply(&self, v: &mut Value) -> bool {
        match v {
            Value::Array(a) => {
                // Every answer is filtered (no short circuit).
                a.iter_mut()
                    .map(|m| self.apply_one(m))
                    .filter(|&c| c)
                    .count()
                    > 0
            }
            m => self.apply_one(m),
        }
    }

    fn apply_one(&self, m: &mut Value) -> bool {
        let Some(id) = m.get("id") else { return false };
        let Some((_, list)) = self.ids.iter().find(|(i, _)| i == id) else {
            return false;
        };
        let (key, field, kind) = list.shape();
        let Some(entries) = m
            .get_mut("result")
            .and_then(|r| r.get_mut(key))
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let before = entries.len();
        entries.retain(|t| {
            t.get(field)
                .and_then(Value::as_str)
                .is_some_and(|n| self.policy.allows(&self.claims, kind, n))
        });
        entries.len() != before
    }
}

/// Where the first complete SSE event in `buf` ends (after its blank
/// line), or None. With `eof`, a `\r` at the very end counts as a line end.
fn event_end(buf: &[u8], eof: bool) -> Option<usize> {
    let mut i = 0;
    let mut line_start = 0;
    while i < buf.len() {
        let term = match buf[i] {
            b'\n' => 1,
            b'\r' if i + 1 < buf.len() => {
                if buf[i + 1] == b'\n' {
                    2
                } else {
                    1
                }
            }
            // A lone `\r` at the end may be the first half of `\r\n`.
            b'\r' if eof => 1,
            b'\r' => return None,
            _ => {
                i += 1;
                continue;
            }
        };
        if i == line_start && i != 0 {
            return Some(i + term);
        }
        i += term;
        line_start = i;
    }
    None
}

/// Rewrites one event when its data is a list answer to filter.
fn rewrite_event(event: &[u8], visible: &Visible) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data = String::new();
    let mut others: Vec<&str> = Vec::new();
    let mut has_data = false;
    for line in text.split(['\n', '\r']).filter(|l| !l.is_empty()) {
        if let Some(d) = line.strip_prefix("data:") {
            if has_data {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
            has_data = true;
        } else {
            others.push(line);
        }
    }
    if !has_data {
        return None;
    }
    let mut v: Value = serde_json::from_str(&data).ok()?;
    if !visible.apply(&mut v) {
        return None;
    }
    let mut out = String::new();
    for l in others {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&v.to_string());
    out.push_str("\n\n");
    Some(out.into_bytes())
}

/// Error of a filtered stream.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("upstream stream failed: {0}")]
    Upstream(String),
    #[error("an SSE event exceeds the gateway's filtering limit")]
    TooLarge,
}

/// An SSE body whose list answers are filtered, event by event. Events
/// pass as soon as they are complete: the stream is never buffered whole.
pub struct SseFilter<B> {
    inner: B,
    buf: Vec<u8>,
    eof: bool,
    visible: Visible,
}

impl<B> SseFilter<B> {
    pub fn new(inner: B, visible: Visible) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            eof: false,
            visible,
        }
    }

    /// The complete events in the buffer, filtered.
    fn take_ready(&mut self) -> Option<Bytes> {
        let mut out: Vec<u8> = Vec::new();
        while let Some(end) = event_end(&self.buf, self.eof) {
            let event: Vec<u8> = self.buf.drain(..end).collect();
            match rewrite_event(&event, &self.visible) {
                Some(new) => out.extend_from_slice(&new),
                None => out.extend_from_slice(&event),
            }
        }
        if self.eof && !self.buf.is_empty() {
            // An unterminated last event is not dispatched by clients;
            // pass it as is (filtered if it parses).
            let rest = std::mem::take(&mut self.buf);
            match rewrite_event(&rest, &self.visible) {
                Some(new) => out.extend_from_slice(&new),
                None => out.extend_from_slice(&rest),
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

impl<B> Body for SseFilter<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = FilterError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, FilterError>>> {
        let this = self.get_mut();
        loop {
            if let Some(out) = this.take_ready() {
                return Poll::Ready(Some(Ok(Frame::data(out))));
            }
            if this.eof {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.eof = true,
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(FilterError::Upstream(e.to_string()))));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                        if this.buf.len() > MAX_FILTERED_BYTES {
                            return Poll::Ready(Some(Err(FilterError::TooLarge)));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Rule, UnknownTools};
    use authgate_resource::ScopeImplications;
    use serde_json::json;

    fn visible(scopes: &[&str]) -> Visible {
        let policy = Policy::tools_only(
            vec![
                Rule {
                    pattern: "get_*".into(),
                    scopes: vec!["r".into()],
                    log_arguments: false,
                },
                Rule {
                    pattern: "set_*".into(),
                    scopes: vec!["w".into()],
                    log_arguments: false,
                },
            ],
            UnknownTools::Deny,
        );
        let claims = Claims::new(
            "i",
            "s",
            "c",
            "a",
            scopes.iter().map(|s| s.to_string()).collect(),
            0,
            1,
            &ScopeImplications::new(),
        );
        Visible {
            policy: Arc::new(policy),
            claims: Arc::new(claims),
            ids: Arc::from(vec![(json!(2), List::Tools)]),
        }
    }

    #[test]
    fn events_are_split_on_blank_lines() {
        assert_eq!(event_end(b"data: a\n\nrest", false), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\nrest", false), Some(11));
        assert_eq!(event_end(b"data: a\n", false), None);
        assert_eq!(event_end(b"data: a\r", false), None);
        assert_eq!(event_end(b"data: a\r\r", false), None);
        assert_eq!(event_end(b"data: a\r\r", true), Some(9));
    }

    #[test]
    fn only_the_list_answer_is_rewritten() {
        let v = visible(&["r"]);
        let list = json!({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"get_forecast"},{"name":"set_alert"},{"name":"whoami"}]}});
        let ev = format!("event: message\nid: 5\ndata: {list}\n\n");
        let out = String::from_utf8(rewrite_event(ev.as_bytes(), &v).unwrap()).unwrap();
        assert!(out.starts_with("event: message\nid: 5\ndata: "));
        assert!(
            out.contains("get_forecast") && !out.contains("set_alert") && !out.contains("whoami")
        );
        let other = json!({"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"set_alert"}]}});
        assert!(rewrite_event(format!("data: {other}\n\n").as_bytes(), &v).is_none());
        let mut batch = json!([list, other]);
        assert!(v.apply(&mut batch));
        assert_eq!(batch[1]["result"]["tools"][0]["name"], "set_alert");
    }
}
