//! `grant_type=refresh_token` with rotation (OAuth 2.1 §4.3). See
//! `authgate_core::refresh` for the grace-window rule that keeps parallel
//! refreshes working while a late replay revokes the grant.

use crate::Authority;
use crate::StoreFailure;
use crate::client_auth::AuthenticatedClient;
use crate::issue::{self, AccessTokenSpec, TokenResponse};
use crate::signup::{self, Hold};
use authgate_core::clock::UnixTime;
use authgate_core::model::{
    AccountStanding, Client, Grant, RefreshToken, RefreshTokenContext, Resource, RotationOutcome,
};
use authgate_core::refresh::{self, RefreshDecision};
use authgate_core::{OAuthError, resource_uri, scope, secret};
use std::sync::Arc;

pub async fn grant(
    state: &Authority,
    client: &AuthenticatedClient,
    presented: &str,
    requested_scope: Option<&str>,
    resource: &[String],
) -> Result<TokenResponse, OAuthError> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let c = &client.client;
    if presented.len() > 512 {
        return Err(invalid_token());
    }
    let parent_hash = secret::hash(presented);
    // The token, its grant and its person's standing (active, the sign-up
    // hold), in one read.
    let ctx = store
        .get_refresh_token_context(&parent_hash)
        .await
        .map_err(StoreFailure)?
        .ok_or_else(invalid_token)?;
    let subject_active = ctx.subject_active();
    let RefreshTokenContext {
        token,
        grant,
        subject,
    } = ctx;
    if token.client_id != c.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let grant = grant.ok_or_else(invalid_token)?;

    // Scope may narrow, never widen (RFC 6749 §6).
    let requested = scope::parse(requested_scope.unwrap_or(""))?;
    if let Some(extra) = requested.iter().find(|s| !token.scopes.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope {extra:?} was not granted; a refresh cannot widen scope"
        )));
    }
    let res = grant_resource(state, c, &grant, resource, subject_active).await?;
    check_hold(state, &grant, subject, &res)?;
    // Within the client's registered ceiling too (it may have narrowed
    // since the grant); checked before rotating so a refusal costs nothing.
    let scopes = if requested.is_empty() {
        token.scopes.clone()
    } else {
        requested
    };
    let ceiling = crate::clients::scope_ceiling(c, crate::clients::TokenFor::Person);
    scope::check_ceiling(&scopes, &res.scopes, ceiling.as_deref())?;

    let successor_plain = rotate(state, c, presented, &token, &grant, &res, now).await?;
    let subject = grant.user_id.as_deref().unwrap_or(&c.client_id);
    let at = issue::access_token(
        state,
        AccessTokenSpec {
            client_id: &c.client_id,
            subject,
            resource: &res,
            scopes: &super::delegated::resource_scopes(&scopes),
            auth_time: Some(grant.auth_time),
            grant_id: Some(&grant.id),
            auth: Some(&grant.auth),
        },
    )?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope: scope::join(&scopes),
        refresh_token: Some(successor_plain),
        id_token: None,
        resource_id: res.id.clone(),
    })
}

/// The MCP server of the grant, which the request may name but not change,
/// while the grant's person is active and the client may still use it.
async fn grant_resource(
    state: &Authority,
    c: &Client,
    grant: &Grant,
    requested: &[String],
    subject_active: bool,
) -> Result<Arc<Resource>, OAuthError> {
    let res = state
        .registry
        .resource_by_id(state.store.as_ref(), &grant.resource_id)
        .await
        .map_err(StoreFailure)?
        .ok_or_else(invalid_token)?;
    match requested {
        [] => {}
        [one] if resource_uri::matches(one, &res.uri) => {}
        _ => {
            return Err(OAuthError::invalid_target(
                "a refresh keeps the resource of the original grant",
            ));
        }
    }
    if !subject_active {
        return Err(OAuthError::invalid_grant("the user account is not active"));
    }
    // The MCP server's switches hold for tokens already out there too: once
    // it stops accepting dynamic or metadata document clients (or the
    // client is blocked, or loses the resource), their refreshes stop.
    crate::clients::check_allowed_for_resource(c, &res, crate::clients::TokenFor::Person)?;
    Ok(res)
}

/// The sign-up hold (`signup::hold`, the rule codes are issued under) on
/// the grant's person, read again at every refresh: when an MCP server
/// stops taking self-made accounts, their refresh tokens stop with it
/// instead of living on until they expire. Like a disabled person's, a
/// held refresh is refused without rotating or revoking anything, so
/// reopening the server lets the grant work again.
fn check_hold(
    state: &Authority,
    grant: &Grant,
    subject: Option<AccountStanding>,
    res: &Resource,
) -> Result<(), OAuthError> {
    let hold = match (&grant.user_id, subject) {
        // A client's own grant: nobody to hold.
        (None, _) => None,
        // The grant names a person the store did not return: fail closed.
        (Some(_), None) => Some(Hold::NoAccount),
        (Some(_), Some(s)) => signup::hold(&state.settings, s, res),
    };
    match hold {
        None => Ok(()),
        Some(Hold::NoAccount) => Err(OAuthError::invalid_grant("the user account is not active")),
        Some(Hold::Unverified) => Err(OAuthError::invalid_grant(
            "the user account's email address is not verified",
        )),
        Some(Hold::ClosedToSignedUp) => Err(OAuthError::invalid_grant(
            "this MCP server no longer accepts self-registered accounts",
        )),
    }
}

/// Unknown, expired or orphaned: one answer, so a caller learns nothing
/// about which.
fn invalid_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid or expired")
}

/// Exchanges the presented token for its successor and returns the
/// successor. The successor is derived from the presented token, so
/// parallel refreshes inside the grace window get the same one; a replay
/// after it revokes the whole grant.
async fn rotate(
    state: &Authority,
    c: &Client,
    presented: &str,
    token: &RefreshToken,
    grant: &Grant,
    res: &Resource,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let store = state.store.as_ref();
    let key = state.kek.refresh_successor_key();
    let successor_plain = refresh::successor(key, presented);
    let successor_hash = secret::hash(&successor_plain);
    let decision = refresh::classify(token, grant, now, state.settings.raw.refresh_grace_secs);
    match decision {
        RefreshDecision::Invalid(why) => return Err(OAuthError::invalid_grant(why)),
        RefreshDecision::Replay => {
            store
                .revoke_grant(&grant.id, now)
                .await
                .map_err(StoreFailure)?;
            crate::audit::audit(
                state,
                "refresh_token.replayed",
                grant.user_id.as_deref(),
                Some(&c.client_id),
                Some(&grant.resource_id),
                "grant_revoked",
            );
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; the grant is revoked",
            ));
        }
        RefreshDecision::ReturnSuccessor { successor_hash: h } => {
            check_successor_live(state, &h, &successor_hash).await?;
        }
        RefreshDecision::Rotate => {
            let record = super::delegated::new_refresh_token(
                successor_hash.clone(),
                grant,
                &c.client_id,
                &token.scopes,
                res,
                now,
            );
            match store
                .rotate_refresh_token(&token.token_hash, &record, now)
                .await
                .map_err(StoreFailure)?
            {
                RotationOutcome::Rotated => state.registry.mark_grant_used(&grant.id, now),
                // A parallel request won the race a moment ago.
                RotationOutcome::AlreadyRotated {
                    successor_hash: h, ..
                } => {
                    check_successor_live(state, &h, &successor_hash).await?;
                }
                RotationOutcome::NotFound => return Err(invalid_token()),
            }
        }
    }
    Ok(successor_plain)
}

/// Within the grace window the same successor is handed out again, but
/// only while it is itself unused: once the client moved on to the next
/// token, the old one is simply stale.
async fn check_successor_live(
    state: &Authority,
    stored_successor_hash: &str,
    derived_hash: &str,
) -> Result<(), OAuthError> {
    if stored_successor_hash != derived_hash {
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    let succ = state
        .store
        .get_refresh_token(stored_successor_hash)
        .await
        .map_err(StoreFailure)?;
    match succ {
        Some(s) if s.rotated_at.is_none() && s.revoked_at.is_none() => Ok(()),
        _ => Err(OAuthError::invalid_grant(
            "the refresh token was already used and its successor too",
        )),
    }
}
