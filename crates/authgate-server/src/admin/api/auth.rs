//! Bearer authentication of the admin API with authgate's own access
//! tokens: signature with a published key, `typ` at+jwt, `iss`, `exp`,
//! revocation (token and grant), `aud` exactly the admin API URL, scope
//! `authgate:admin`. A client credentials token must come from a client
//! that still exists and is not blocked; a token a person delegated is
//! accepted only while that person's role allows the request
//! (`manage::roles`: an administrator anything, an auditor only reads).

use super::failure::Failure;
use crate::state::{AppState, SharedState};
use authgate_authority::builtin::{ADMIN_SCOPE, API_PREFIX, api_uri};
use authgate_authority::manage::roles::{self, Access};
use authgate_authority::manage::{Actor, AdminError};
use authgate_core::claims::AccessTokenClaims;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};

/// The authenticated caller of an admin API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub client_id: String,
}

/// Where the admin API's own protected resource metadata is served.
pub fn metadata_url(state: &AppState) -> String {
    let issuer = &state.settings.issuer;
    let origin = url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    format!(
        "{origin}/.well-known/oauth-protected-resource{}{API_PREFIX}",
        state.settings.issuer_path()
    )
}

fn challenge(state: &AppState, error: Option<&str>) -> String {
    let mut c = format!(
        "Bearer realm=\"authgate-admin\", resource_metadata=\"{}\", scope=\"{ADMIN_SCOPE}\"",
        metadata_url(state)
    );
    if let Some(e) = error {
        c.push_str(&format!(", error=\"{e}\""));
    }
    c
}

fn reject(
    state: &AppState,
    status: StatusCode,
    error: &'static str,
    description: &'static str,
) -> Failure {
    // RFC 6750 §3.1: a request without a token gets no error code.
    let code = (description != NO_TOKEN).then_some(error);
    Failure::Auth {
        status,
        error,
        description,
        challenge: challenge(state, code),
    }
}

const NO_TOKEN: &str = "a bearer access token with scope authgate:admin is required";

fn unauthorized(state: &AppState, description: &'static str) -> Failure {
    reject(
        state,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        description,
    )
}

/// The request's bearer token, or why there is none usable.
fn bearer_token(parts: &Parts) -> Result<&str, &'static str> {
    let Some(h) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(NO_TOKEN);
    };
    let h = h.to_str().unwrap_or("");
    let Some((scheme, token)) = h.split_once(' ') else {
        return Err(NO_TOKEN);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(NO_TOKEN);
    }
    let token = token.trim();
    if token.is_empty() || token.len() > 16 * 1024 {
        return Err("the access token is malformed");
    }
    Ok(token)
}

/// The claims of `token` if it is an active access token for the admin API
/// with its scope.
async fn admin_api_claims(state: &AppState, token: &str) -> Result<AccessTokenClaims, Failure> {
    let claims = authgate_authority::introspection::active_access_token(state, token)
        .await
        .map_err(|e| {
            Failure::Admin(AdminError::Internal(format!(
                "token check failed: {}",
                e.description
            )))
        })?
        .ok_or_else(|| unauthorized(state, "the access token is invalid, expired or revoked"))?;
    if claims.aud != api_uri(&state.settings) {
        return Err(unauthorized(
            state,
            "the access token is not for the admin API (aud)",
        ));
    }
    if !claims.scope.split(' ').any(|s| s == ADMIN_SCOPE) {
        return Err(reject(
            state,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token lacks the authgate:admin scope",
        ));
    }
    Ok(claims)
}

/// The client must still be one the admin API may be used by (the one
/// rule, `clients::check_allowed_for_resource`): a token issued before the
/// client was blocked, deleted, or lost `authgate-admin` from its list (or
/// by an older build) stops working at once.
async fn check_client_allowed(state: &AppState, claims: &AccessTokenClaims) -> Result<(), Failure> {
    let store = state.store.as_ref();
    let client = state.registry.client(store, &claims.client_id).await?;
    let admin = state
        .registry
        .resource_by_id(store, authgate_authority::builtin::ADMIN_RESOURCE_ID)
        .await?;
    let token_for = if claims.gid.is_some() {
        authgate_authority::clients::TokenFor::Person
    } else {
        authgate_authority::clients::TokenFor::Client
    };
    match (&client, &admin) {
        (Some(c), Some(r))
            if authgate_authority::clients::check_allowed_for_resource(c, r, token_for).is_ok() =>
        {
            Ok(())
        }
        _ => Err(unauthorized(
            state,
            "the client of this token is blocked, deleted or no longer allowed the admin API",
        )),
    }
}

/// What the request does: a GET (or HEAD) reads, anything else writes.
fn access_of(parts: &Parts) -> Access {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        Access::Read
    } else {
        Access::Write
    }
}

/// Who acts: the person who delegated the token (whose role must allow
/// `access`: `roles::check`), or the client itself (the admin scope is
/// the whole permission of a client's own token). The name and, for a
/// person, their id.
async fn actor_of(
    state: &AppState,
    claims: &AccessTokenClaims,
    access: Access,
) -> Result<(String, Option<String>), Failure> {
    if claims.gid.is_none() {
        return Ok((format!("client:{}", claims.client_id), None));
    }
    let Some(u) = state.store.get_user(&claims.sub).await? else {
        return Err(reject(
            state,
            StatusCode::FORBIDDEN,
            "access_denied",
            "the person behind this token no longer exists",
        ));
    };
    roles::check(&u, access)?;
    Ok((u.email, Some(u.id)))
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let address = Some(
            crate::http::client_address::ClientAddress::from_parts(parts)
                .0
                .to_string(),
        );
        let token = bearer_token(parts).map_err(|d| unauthorized(state, d))?;
        let claims = admin_api_claims(state, token).await?;
        check_client_allowed(state, &claims).await?;
        let (name, user_id) = actor_of(state, &claims, access_of(parts)).await?;
        Ok(Caller {
            actor: Actor {
                name,
                address,
                user_id,
            },
            client_id: claims.client_id,
        })
    }
}
