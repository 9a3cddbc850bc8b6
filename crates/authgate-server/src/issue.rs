//! Minting tokens: RFC 9068 access tokens and OIDC ID tokens, signed with
//! the active key (parsed once; see `keys`).

use crate::app::AppState;
use authgate_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, IdTokenClaims};
use authgate_core::model::{Resource, User};
use authgate_core::{scope, secret};
use serde::Serialize;

pub struct AccessTokenSpec<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub resource: &'a Resource,
    pub scopes: &'a [String],
    pub auth_time: Option<i64>,
    pub grant_id: Option<&'a str>,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    pub claims: AccessTokenClaims,
}

pub fn access_token(state: &AppState, spec: AccessTokenSpec<'_>) -> IssuedAccessToken {
    let now = state.clock.now();
    let ttl = spec.resource.access_token_ttl_secs;
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: spec.subject.to_owned(),
        aud: spec.resource.uri.clone(),
        client_id: spec.client_id.to_owned(),
        scope: scope::join(spec.scopes),
        iat: now,
        exp: now + ttl,
        jti: secret::generate_id(state.rng.as_ref()),
        auth_time: spec.auth_time,
        gid: spec.grant_id.map(str::to_owned),
    };
    let keys = state.keys.current();
    let token = keys.active.sign_jwt(ACCESS_TOKEN_TYP, &claims);
    IssuedAccessToken {
        token,
        expires_in: ttl,
        claims,
    }
}

pub struct IdTokenSpec<'a> {
    pub client_id: &'a str,
    pub user: &'a User,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    pub scopes: &'a [String],
}

pub fn id_token(state: &AppState, spec: IdTokenSpec<'_>) -> String {
    let now = state.clock.now();
    let has = |s: &str| spec.scopes.iter().any(|x| x == s);
    let claims = IdTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: spec.user.id.clone(),
        aud: spec.client_id.to_owned(),
        iat: now,
        exp: now + state.settings.raw.id_token_ttl_secs,
        auth_time: spec.auth_time,
        nonce: spec.nonce.map(str::to_owned),
        at_hash: Some(authgate_core::signing::at_hash(spec.access_token)),
        email: has("email").then(|| spec.user.email.clone()),
        email_verified: has("email").then_some(false),
        name: if has("profile") {
            spec.user.name.clone()
        } else {
            None
        },
        azp: spec.client_id.to_owned(),
    };
    state.keys.current().active.sign_jwt("JWT", &claims)
}

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
