//! Token introspection (RFC 7662): which of our tokens is active, and who
//! may learn about it (RFC 7662 §2.2 leaves it to the server; issue 17):
//!
//! - an access token is answered to the client it was issued to, and to
//!   the resource servers of its audience: pre-registered confidential
//!   clients an administrator listed that MCP server for *by id* (`"*"`
//!   does not count; an MCP server that introspects gets its own client
//!   with `resources = ["<its id>"]`);
//! - a refresh token is answered only to the client it was issued to: a
//!   resource server never accepts one, so it has no business asking;
//! - everyone else, including any dynamically registered client, gets
//!   `{"active": false}`, exactly as for an unknown token, so a probe
//!   learns nothing.
//!
//! `token_type` says which kind it was: `Bearer` for an access token,
//! `refresh_token` for a refresh token.

use crate::{Authority, StoreFailure};
use authgate_core::OAuthError;
use authgate_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use authgate_core::model::{Client, ClientKind};
use authgate_core::secret;
use authgate_core::signing::verify_jwt;
use serde_json::{Value, json};

fn inactive() -> Value {
    json!({"active": false})
}

/// Adds how the person signed in (`amr`, `idp`, `org_id`), as the access
/// token carries them, to an introspection answer; absent ones are omitted.
fn sign_in_context(v: &mut Value, amr: Vec<String>, idp: Option<String>, org_id: Option<String>) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    if !amr.is_empty() {
        o.insert("amr".into(), json!(amr));
    }
    if let Some(idp) = idp {
        o.insert("idp".into(), json!(idp));
    }
    if let Some(org_id) = org_id {
        o.insert("org_id".into(), json!(org_id));
    }
}

/// Verifies one of our access tokens: signature with a published key,
/// `typ`, issuer, expiry, and that neither the token nor its grant was revoked.
pub async fn active_access_token(
    state: &Authority,
    token: &str,
) -> Result<Option<AccessTokenClaims>, OAuthError> {
    let keys = state.keys.current();
    let Ok(claims) = verify_jwt::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, &keys.verifying)
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    if claims.iss != state.settings.issuer || claims.exp <= now {
        return Ok(None);
    }
    let store = state.store.as_ref();
    if store
        .is_access_token_revoked(&claims.jti)
        .await
        .map_err(StoreFailure)
        .map_err(OAuthError::from)?
    {
        return Ok(None);
    }
    if let Some(gid) = &claims.gid {
        let live = store
            .get_grant(gid)
            .await
            .map_err(StoreFailure)
            .map_err(OAuthError::from)?
            .is_some_and(|g| g.revoked_at.is_none());
        if !live {
            return Ok(None);
        }
    }
    Ok(Some(claims))
}

/// Whether `asker` may learn about an access token for `aud` issued to
/// `token_client`: its own token, or it is a resource server of `aud`.
async fn may_introspect_access_token(
    state: &Authority,
    asker: &Client,
    token_client: &str,
    aud: &str,
) -> Result<bool, OAuthError> {
    if asker.client_id == token_client {
        return Ok(true);
    }
    if asker.kind != ClientKind::PreRegistered
        || !asker.metadata.token_endpoint_auth_method.is_confidential()
    {
        return Ok(false);
    }
    let resource = state
        .registry
        .resource_by_uri(state.store.as_ref(), aud)
        .await
        .map_err(StoreFailure)
        .map_err(OAuthError::from)?;
    Ok(resource.is_some_and(|r| asker.lists_resource(&r.id)))
}

pub async fn introspect_token(
    state: &Authority,
    asker: &Client,
    token: &str,
) -> Result<Value, OAuthError> {
    if token.len() > 16 * 1024 {
        return Ok(inactive());
    }
    if token.matches('.').count() == 2 {
        let claims = match active_access_token(state, token).await? {
            Some(c) if may_introspect_access_token(state, asker, &c.client_id, &c.aud).await? => {
                Some(c)
            }
            _ => None,
        };
        return Ok(match claims {
            Some(c) => {
                let mut v = json!({
                    "active": true,
                    "token_type": "Bearer",
                    "iss": c.iss,
                    "sub": c.sub,
                    "aud": c.aud,
                    "client_id": c.client_id,
                    "scope": c.scope,
                    "iat": c.iat,
                    "exp": c.exp,
                    "jti": c.jti,
                });
                sign_in_context(&mut v, c.amr, c.idp, c.org_id);
                v
            }
            None => inactive(),
        });
    }
    // Otherwise it may be one of our refresh tokens.
    let store = state.store.as_ref();
    let now = state.clock.now();
    let Some(rt) = store
        .get_refresh_token(&secret::hash(token))
        .await
        .map_err(StoreFailure)?
    else {
        return Ok(inactive());
    };
    // Only the client holding a refresh token may ask about it.
    if rt.client_id != asker.client_id {
        return Ok(inactive());
    }
    if rt.revoked_at.is_some() || rt.rotated_at.is_some() || rt.expires_at <= now {
        return Ok(inactive());
    }
    let Some(grant) = store.get_grant(&rt.grant_id).await.map_err(StoreFailure)? else {
        return Ok(inactive());
    };
    if grant.revoked_at.is_some() || grant.expires_at <= now {
        return Ok(inactive());
    }
    let aud = state
        .registry
        .resource_by_id(store, &grant.resource_id)
        .await
        .map_err(StoreFailure)?
        .map(|r| r.uri.clone());
    let mut v = json!({
        "active": true,
        "token_type": "refresh_token",
        "iss": state.settings.issuer,
        "sub": grant.user_id.as_deref().unwrap_or(&rt.client_id),
        "aud": aud,
        "client_id": rt.client_id,
        "scope": rt.scopes.join(" "),
        "iat": rt.issued_at,
        "exp": rt.expires_at,
    });
    sign_in_context(&mut v, grant.auth.amr, grant.auth.idp, grant.auth.org_id);
    Ok(v)
}
