//! What the two grants a person delegated (authorization code, refresh
//! token) both build: the scopes of the access token and the record of a
//! fresh refresh token.

use authgate_core::model::{Grant, RefreshToken, Resource};
use authgate_core::{refresh, scope};

/// The scopes an access token carries: the OpenID Connect ones are about
/// the person (ID token, userinfo) and mean nothing to the MCP server.
pub(super) fn resource_scopes(scopes: &[String]) -> Vec<String> {
    scopes
        .iter()
        .filter(|s| !scope::OIDC_SCOPES.contains(&s.as_str()))
        .cloned()
        .collect()
}

/// A fresh, unused refresh token of `grant` (first issue or rotation): it
/// idles out after the MCP server's idle lifetime, never after the grant.
pub(super) fn new_refresh_token(
    token_hash: String,
    grant: &Grant,
    client_id: &str,
    scopes: &[String],
    res: &Resource,
    now: authgate_core::clock::UnixTime,
) -> RefreshToken {
    RefreshToken {
        token_hash,
        grant_id: grant.id.clone(),
        client_id: client_id.to_owned(),
        scopes: scopes.to_vec(),
        issued_at: now,
        expires_at: refresh::next_expiry(now, res.refresh_token_idle_ttl_secs, grant.expires_at),
        rotated_at: None,
        successor_hash: None,
        revoked_at: None,
    }
}
