//! GitHub: OAuth 2 without an ID token. The person is `GET /user` (its
//! numeric `id` is the stable subject; logins can be renamed), and the
//! email only the *verified primary* address of `GET /user/emails`: an
//! unverified or secondary address could be anyone's.

use super::UpstreamError;
use super::config::OidcSettings;
use super::flow::bearer_get;
use crate::Authority;
use crate::federation::identity::UpstreamIdentity;
use authgate_core::connection::Connection;
use serde_json::Value;

const ACCEPT: &str = "application/vnd.github+json";

pub(super) async fn identity(
    auth: &Authority,
    conn: &Connection,
    s: &OidcSettings,
    access: &str,
) -> Result<UpstreamIdentity, UpstreamError> {
    let api = s
        .api_base
        .clone()
        .unwrap_or_else(|| crate::federation::presets::GITHUB_API.to_owned());
    let api = api.trim_end_matches('/');
    let user = bearer_get(
        auth,
        &format!("{api}/user"),
        access,
        ACCEPT,
        "GitHub user API",
    )
    .await?;
    let id = user
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| UpstreamError::UserInfo("the GitHub user has no id".into()))?;
    let emails = bearer_get(
        auth,
        &format!("{api}/user/emails"),
        access,
        ACCEPT,
        "GitHub emails API",
    )
    .await?;
    Ok(map_github(&conn.id, api, id, &user, &emails))
}

/// The identity of GitHub user `id`: the email only from the verified
/// primary address.
pub(crate) fn map_github(
    connection_id: &str,
    api: &str,
    id: u64,
    user: &Value,
    emails: &Value,
) -> UpstreamIdentity {
    let primary = emails.as_array().and_then(|a| {
        a.iter().find(|e| {
            e.get("primary").and_then(Value::as_bool) == Some(true)
                && e.get("verified").and_then(Value::as_bool) == Some(true)
        })
    });
    let email = primary
        .and_then(|e| e.get("email"))
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@') && e.len() <= 254);
    let name = user
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| user.get("login").and_then(Value::as_str))
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= 200)
        .map(str::to_owned);
    UpstreamIdentity {
        connection_id: connection_id.to_owned(),
        subject: id.to_string(),
        issuer: api.to_owned(),
        email_verified: email.is_some(),
        email,
        name,
        groups: Vec::new(),
        amr: Vec::new(),
    }
}
