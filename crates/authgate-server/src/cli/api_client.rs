//! The CLI's client of a running server's admin API: credentials from the
//! environment (`AUTHGATE_ADMIN_CLIENT_ID`, `AUTHGATE_ADMIN_CLIENT_SECRET`)
//! or a file, a client credentials token for the admin API, JSON calls.

use super::error::CliError;
use authgate_authority::builtin::{ADMIN_SCOPE, API_PREFIX};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

impl Credentials {
    /// From `file` (JSON `{"client_id", "client_secret"}`, or `key = value`
    /// or `key: value` lines), else from the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, CliError> {
        if let Some(f) = file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| CliError(format!("--credentials {}: {e}", f.display())))?;
            return Self::parse(&text)
                .ok_or_else(|| CliError(format!("--credentials {}: expected client_id and client_secret (JSON, or key = value lines)", f.display())));
        }
        let id = std::env::var("AUTHGATE_ADMIN_CLIENT_ID").ok();
        let secret = std::env::var("AUTHGATE_ADMIN_CLIENT_SECRET").ok();
        match (id, secret) {
            (Some(client_id), Some(client_secret)) if !client_id.is_empty() && !client_secret.is_empty() => {
                Ok(Self {
                    client_id,
                    client_secret,
                })
            }
            _ => Err(CliError(
                "--server needs admin credentials: set AUTHGATE_ADMIN_CLIENT_ID and AUTHGATE_ADMIN_CLIENT_SECRET, or give --credentials FILE".into(),
            )),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return Some(Self {
                client_id: v.get("client_id")?.as_str()?.to_owned(),
                client_secret: v.get("client_secret")?.as_str()?.to_owned(),
            });
        }
        let mut id = None;
        let mut secret = None;
        for line in text.lines() {
            // `key = value`, or `key: value` as `authgate client add
            // --confidential` prints it, so its output works as this file.
            let Some((k, v)) = line.split_once(['=', ':']) else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_owned();
            match k.trim() {
                "client_id" => id = Some(v),
                "client_secret" => secret = Some(v),
                _ => {}
            }
        }
        Some(Self {
            client_id: id.filter(|s| !s.is_empty())?,
            client_secret: secret.filter(|s| !s.is_empty())?,
        })
    }
}

/// A connection to a running server's admin API.
pub struct Remote {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Remote {
    /// `server` is the issuer URL; a token comes from its token endpoint.
    pub async fn connect(server: &str, creds: &Credentials) -> Result<Self, CliError> {
        let issuer = server.trim().trim_end_matches('/').to_owned();
        let ok = url::Url::parse(&issuer)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(CliError(format!(
                "--server {server:?} is not an http(s) URL (the issuer)"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authgate-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError(format!("cannot build an HTTP client: {e}")))?;
        let api = format!("{issuer}{API_PREFIX}");
        let resp = http
            .post(format!("{issuer}/token"))
            .basic_auth(
                form_encode(&creds.client_id),
                Some(form_encode(&creds.client_secret)),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", api.as_str()),
                ("scope", ADMIN_SCOPE),
            ])
            .send()
            .await
            .map_err(|e| CliError(format!("cannot reach {issuer}: {e}")))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let Some(token) = body.get("access_token").and_then(Value::as_str) else {
            return Err(CliError(format!(
                "no admin token from {issuer}/token (HTTP {status}): {}",
                describe(&body)
            )));
        };
        Ok(Self {
            http,
            api,
            token: token.to_owned(),
        })
    }

    /// Calls the API; a non-2xx answer becomes an error naming the field.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| CliError(format!("bad method {method}")))?;
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.api))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| CliError(format!("the admin API did not answer: {e}")))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(CliError(format!(
                "HTTP {}: {}",
                status.as_u16(),
                describe(&v)
            )))
        }
    }

    /// Every item of a paginated list.
    pub async fn list_all(&self, path: &str) -> Result<Vec<Value>, CliError> {
        let mut out = Vec::new();
        let mut offset = 0u64;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = self
                .call(
                    "GET",
                    &format!("{path}{sep}limit=500&offset={offset}"),
                    None,
                )
                .await?;
            if let Some(items) = page.get("items").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match page.get("next_offset").and_then(Value::as_u64) {
                Some(n) if n > offset => offset = n,
                _ => return Ok(out),
            }
        }
    }
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded in Basic.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An error body as one line: `field: description (error)`.
pub fn describe(v: &Value) -> String {
    let desc = v
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let err = v.get("error").and_then(Value::as_str).unwrap_or("error");
    match v.get("field").and_then(Value::as_str) {
        Some(f) => format!("{f}: {desc} ({err})"),
        None if desc.is_empty() => err.to_owned(),
        None => format!("{desc} ({err})"),
    }
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_files() {
        let c = Credentials::parse(r#"{"client_id":"ops","client_secret":"s3"}"#).unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.client_secret.as_str()),
            ("ops", "s3")
        );
        let c = Credentials::parse("client_id = ops\nclient_secret = \"s3\"\n").unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.client_secret.as_str()),
            ("ops", "s3")
        );
        assert!(Credentials::parse("client_id = ops").is_none());
        // What `authgate client add --confidential` prints.
        let c = Credentials::parse(
            "client_id:     ops\nclient_secret: a=b:c\n(the secret is shown only now)\n",
        )
        .unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.client_secret.as_str()),
            ("ops", "a=b:c")
        );
    }
}
