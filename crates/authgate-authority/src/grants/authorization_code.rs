//! `grant_type=authorization_code` (OAuth 2.1 §4.1.3) with PKCE S256.
//! A code works once; a replayed code revokes every token issued from it.

use crate::Authority;
use crate::StoreFailure;
use crate::client_auth::AuthenticatedClient;
use crate::issue::{self, AccessTokenSpec, IdTokenSpec, TokenResponse};
use authgate_core::clock::UnixTime;
use authgate_core::model::{AuthorizationCode, Client, CodeRedemption, Grant, Resource};
use authgate_core::{OAuthError, pkce, resource_uri, scope, secret};
use std::sync::Arc;

pub struct Request<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: &'a [String],
}

pub async fn grant(
    state: &Authority,
    client: &AuthenticatedClient,
    req: Request<'_>,
) -> Result<TokenResponse, OAuthError> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let c = &client.client;
    let code = redeem(state, req.code, now).await?;
    check_binding(&code, c, &req, now)?;
    let res = code_resource(state, c, &code, req.resource).await?;
    let user = store
        .get_user(&code.user_id)
        .await
        .map_err(StoreFailure)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user account is not active"))?;

    let grant = Grant {
        id: code.grant_id.clone(),
        client_id: c.client_id.clone(),
        user_id: Some(user.id.clone()),
        resource_id: res.id.clone(),
        scopes: code.scopes.clone(),
        auth_time: code.auth_time,
        created_at: now,
        last_used_at: now,
        expires_at: now + res.refresh_token_absolute_ttl_secs,
        revoked_at: None,
        // Kept on the grant so refreshed access tokens say the same.
        auth: code.auth.clone(),
    };
    store.insert_grant(&grant).await.map_err(StoreFailure)?;

    let at = issue::access_token(
        state,
        AccessTokenSpec {
            client_id: &c.client_id,
            subject: &user.id,
            resource: &res,
            scopes: &super::delegated::resource_scopes(&code.scopes),
            auth_time: Some(code.auth_time),
            grant_id: Some(&grant.id),
            auth: Some(&code.auth),
        },
    )?;
    let refresh_token = first_refresh_token(state, c, &grant, &res, now).await?;
    let id_token = if code.scopes.iter().any(|s| s == "openid") {
        Some(issue::id_token(
            state,
            IdTokenSpec {
                client_id: &c.client_id,
                alg: c.metadata.id_token_signed_response_alg,
                user: &user,
                auth_time: code.auth_time,
                nonce: code.nonce.as_deref(),
                access_token: &at.token,
                scopes: &code.scopes,
                auth: &code.auth,
            },
        )?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope: scope::join(&code.scopes),
        refresh_token,
        id_token,
        resource_id: res.id.clone(),
    })
}

/// Consumes the code (atomically: of two redemptions one wins). A replay
/// revokes what the code produced (RFC 9700 §4.2.4 / OAuth 2.1 §4.1.3).
async fn redeem(
    state: &Authority,
    presented: &str,
    now: UnixTime,
) -> Result<AuthorizationCode, OAuthError> {
    let store = state.store.as_ref();
    if presented.len() > 512 {
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid",
        ));
    }
    match store
        .redeem_code(&secret::hash(presented), now)
        .await
        .map_err(StoreFailure)?
    {
        CodeRedemption::Redeemed(code) => Ok(code),
        CodeRedemption::Replayed(code) => {
            store
                .revoke_grant(&code.grant_id, now)
                .await
                .map_err(StoreFailure)?;
            crate::audit::audit(
                state,
                "authorization_code.replayed",
                Some(&code.user_id),
                Some(&code.client_id),
                Some(&code.resource_id),
                "refused",
            );
            Err(OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ))
        }
        CodeRedemption::NotFound => Err(OAuthError::invalid_grant(
            "the authorization code is invalid or expired",
        )),
    }
}

/// The token request must come from the client the code was issued to,
/// in time, with the same redirect URI (when given) and the PKCE verifier
/// of the challenge sent to /authorize.
fn check_binding(
    code: &AuthorizationCode,
    c: &Client,
    req: &Request<'_>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if code.client_id != c.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant("the authorization code expired"));
    }
    if let Some(r) = req.redirect_uri
        && r != code.redirect_uri
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one used at authorization",
        ));
    }
    let verifier = req
        .code_verifier
        .ok_or_else(|| OAuthError::invalid_grant("code_verifier is required (PKCE)"))?;
    pkce::verify(verifier, &code.code_challenge)?;
    Ok(())
}

/// The MCP server the code was issued for, still there, still the one the
/// request names (if it names one), and still open to this client.
async fn code_resource(
    state: &Authority,
    c: &Client,
    code: &AuthorizationCode,
    requested: &[String],
) -> Result<Arc<Resource>, OAuthError> {
    let res = state
        .registry
        .resource_by_id(state.store.as_ref(), &code.resource_id)
        .await
        .map_err(StoreFailure)?
        .ok_or_else(|| OAuthError::invalid_grant("the MCP server of this code no longer exists"))?;
    match requested {
        [] => {}
        [one] if resource_uri::matches(one, &res.uri) => {}
        [_] => {
            return Err(OAuthError::invalid_target(
                "resource differs from the one used at authorization",
            ));
        }
        _ => return Err(OAuthError::invalid_target("request one resource")),
    }
    // Checked at /authorize; again here in case the MCP server's switches or
    // the client changed while the code was out.
    crate::clients::check_allowed_for_resource(c, &res, crate::clients::TokenFor::Person)?;
    // The scope consented to at /authorize was already within the client's
    // ceiling; its registration may have narrowed while the code was out.
    let ceiling = crate::clients::scope_ceiling(c, crate::clients::TokenFor::Person);
    scope::check_ceiling(&code.scopes, &res.scopes, ceiling.as_deref())?;
    Ok(res)
}

/// The grant's first refresh token, unless the client registered grant
/// types without `refresh_token` (none registered means every grant).
async fn first_refresh_token(
    state: &Authority,
    c: &Client,
    grant: &Grant,
    res: &Resource,
    now: UnixTime,
) -> Result<Option<String>, OAuthError> {
    let allows_refresh = c.metadata.grant_types.is_empty()
        || c.metadata.grant_types.iter().any(|g| g == "refresh_token");
    if !allows_refresh {
        return Ok(None);
    }
    let token = secret::generate(state.rng.as_ref())?;
    let record = super::delegated::new_refresh_token(
        secret::hash(&token),
        grant,
        &c.client_id,
        &grant.scopes,
        res,
        now,
    );
    state
        .store
        .insert_refresh_token(&record)
        .await
        .map_err(StoreFailure)?;
    Ok(Some(token))
}
