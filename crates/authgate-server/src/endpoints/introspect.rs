//! Token introspection (RFC 7662) for authenticated confidential clients:
//! resource servers use it for revocation-aware checks.

use crate::app::{AppState, SharedState};
use crate::client_auth;
use crate::http::error::{ApiError, StoreFailure, no_store_json};
use crate::http::form::FormPairs;
use authgate_core::OAuthError;
use authgate_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use authgate_core::secret;
use authgate_core::signing::verify_jwt;
use authgate_core::token_request::{BodyClientAuth, Params};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

pub async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    FormPairs(pairs): FormPairs,
) -> Result<Response, ApiError> {
    let basic = client_auth::used_basic(&headers);
    let wrap = |e: OAuthError| ApiError::from(e).with_basic(basic);
    let p = Params::new(&pairs);
    let body_auth = body_client_auth(&p).map_err(wrap)?;
    let client = client_auth::authenticate(&state, &headers, &body_auth).await?;
    if !client.is_confidential() {
        return Err(wrap(OAuthError::invalid_client(
            "introspection requires client authentication",
        )));
    }
    let token = p.required("token").map_err(wrap)?;
    // token_type_hint is only a hint (RFC 7662 §2.1); both kinds are tried.
    let _ = p.single("token_type_hint").map_err(wrap)?;
    let body = introspect_token(&state, token).await?;
    Ok(no_store_json(StatusCode::OK, &body))
}

pub fn body_client_auth(p: &Params<'_>) -> Result<BodyClientAuth, OAuthError> {
    Ok(BodyClientAuth {
        client_id: p.single("client_id")?.map(str::to_owned),
        client_secret: p.single("client_secret")?.map(str::to_owned),
        client_assertion_type: p.single("client_assertion_type")?.map(str::to_owned),
        client_assertion: p.single("client_assertion")?.map(str::to_owned),
    })
}

fn inactive() -> Value {
    json!({"active": false})
}

/// Verifies one of our access tokens: signature with a published key,
/// `typ`, issuer, expiry, and that neither the token nor its grant was revoked.
pub async fn active_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<AccessTokenClaims>, ApiError> {
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

async fn introspect_token(state: &AppState, token: &str) -> Result<Value, ApiError> {
    if token.len() > 16 * 1024 {
        return Ok(inactive());
    }
    if token.matches('.').count() == 2 {
        return Ok(match active_access_token(state, token).await? {
            Some(c) => json!({
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
            }),
            None => inactive(),
        });
    }
    // Otherwise it may be one of our refresh tokens.
    let store = state.store.as_ref();
    let now = state.clock.now();
    let Some(rt) = store.get_refresh_token(&secret::hash(token)).await? else {
        return Ok(inactive());
    };
    if rt.revoked_at.is_some() || rt.rotated_at.is_some() || rt.expires_at <= now {
        return Ok(inactive());
    }
    let Some(grant) = store.get_grant(&rt.grant_id).await? else {
        return Ok(inactive());
    };
    if grant.revoked_at.is_some() || grant.expires_at <= now {
        return Ok(inactive());
    }
    let aud = state
        .registry
        .resource_by_id(store, &grant.resource_id)
        .await?
        .map(|r| r.uri.clone());
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "iss": state.settings.issuer,
        "sub": grant.user_id.as_deref().unwrap_or(&rt.client_id),
        "aud": aud,
        "client_id": rt.client_id,
        "scope": rt.scopes.join(" "),
        "iat": rt.issued_at,
        "exp": rt.expires_at,
    }))
}
