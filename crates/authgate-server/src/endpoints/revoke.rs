//! Token revocation (RFC 7009). Answers 200 whether or not the token was
//! known (§2.2), so it reveals nothing; revokes only tokens issued to the
//! calling client.

use crate::http::client_auth;
use crate::http::error::ApiError;
use crate::http::form::FormPairs;
use crate::state::SharedState;
use authgate_authority::introspection::active_access_token;
use authgate_core::OAuthError;
use authgate_core::secret;
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    FormPairs(pairs): FormPairs,
) -> Result<Response, ApiError> {
    let basic = client_auth::used_basic(&headers);
    let wrap = |e: OAuthError| ApiError::from(e).with_basic(basic);
    let p = Params::new(&pairs);
    let body_auth = client_auth::body_client_auth(&p).map_err(wrap)?;
    let client = client_auth::authenticate(&state, &headers, &body_auth).await?;
    let token = p.required("token").map_err(wrap)?;
    let hint = p.single("token_type_hint").map_err(wrap)?;
    if let Some(h) = hint
        && h != "access_token"
        && h != "refresh_token"
    {
        return Err(wrap(OAuthError::new(
            authgate_core::ErrorCode::UnsupportedTokenType,
            "token_type_hint must be access_token or refresh_token",
        )));
    }
    let store = state.store.as_ref();
    let now = state.clock.now();
    let cid = &client.client.client_id;
    if token.len() <= 16 * 1024 {
        if token.matches('.').count() == 2 {
            if let Some(c) = active_access_token(&state, token).await?
                && &c.client_id == cid
            {
                store.revoke_access_token(&c.jti, c.exp).await?;
                authgate_authority::audit::audit(
                    &state,
                    "access_token.revoked",
                    None,
                    Some(cid),
                    None,
                    "ok",
                );
            }
        } else if let Some(rt) = store.get_refresh_token(&secret::hash(token)).await?
            && &rt.client_id == cid
        {
            // RFC 7009 §2.1: revoking a refresh token also invalidates the
            // access tokens of the same grant.
            store.revoke_grant(&rt.grant_id, now).await?;
            authgate_authority::audit::audit(
                &state,
                "refresh_token.revoked",
                None,
                Some(cid),
                None,
                "ok",
            );
        }
    }
    let mut resp = StatusCode::OK.into_response();
    crate::http::cache::forbid_caching(resp.headers_mut());
    Ok(resp)
}
