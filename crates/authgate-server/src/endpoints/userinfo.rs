//! OIDC UserInfo: claims about the person behind an access token whose
//! grant included `openid`.

use crate::http::error::ApiError;
use crate::state::SharedState;
use authgate_authority::introspection::active_access_token;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

fn challenge(error: Option<&str>) -> Response {
    let v = match error {
        Some(e) => format!("Bearer error=\"{e}\""),
        None => "Bearer".to_string(),
    };
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

pub async fn userinfo(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return challenge(None);
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return challenge(Some("invalid_request"));
    };
    let claims = match active_access_token(&state, token.trim()).await {
        Ok(Some(c)) => c,
        Ok(None) => return challenge(Some("invalid_token")),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(gid) = &claims.gid else {
        return challenge(Some("insufficient_scope"));
    };
    let grant = match state.store.get_grant(gid).await {
        Ok(Some(g)) => g,
        Ok(None) => return challenge(Some("invalid_token")),
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    if !grant.scopes.iter().any(|s| s == "openid") {
        let mut r = challenge(Some("insufficient_scope"));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let user = match state.store.get_user(&claims.sub).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return challenge(Some("invalid_token")),
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let mut body = serde_json::json!({ "sub": user.id });
    if grant.scopes.iter().any(|s| s == "email") {
        body["email"] = user.email.clone().into();
        body["email_verified"] = user.email_verified.into();
    }
    if grant.scopes.iter().any(|s| s == "profile")
        && let Some(n) = &user.name
    {
        body["name"] = n.clone().into();
    }
    let mut r = axum::Json(body).into_response();
    crate::http::cache::forbid_caching(r.headers_mut());
    r
}
