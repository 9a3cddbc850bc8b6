//! Choosing the resource (MCP server) a token is for, from RFC 8707
//! `resource` parameters and what the client may use.

use crate::Authority;
use crate::StoreFailure;
use crate::clients::TokenFor;
use authgate_core::model::{ANY_RESOURCE, Client, ClientKind, Resource};
use authgate_core::{OAuthError, resource_uri};
use std::sync::Arc;

/// Resolves the requested resource, for /authorize and /token alike:
/// exactly one `resource` (tolerant match against the registered URL), or
/// none when the client was granted a single resource by id, or may use
/// any (`"*"`, or a dynamic/metadata document client) and only one
/// (besides the built-in admin API) is registered. Several values are
/// refused: a token has one audience. Whether the client may have it is
/// decided by `clients::check_allowed_for_resource`.
pub async fn resolve(
    state: &Authority,
    client: &Client,
    requested: &[String],
    token_for: TokenFor,
) -> Result<Arc<Resource>, OAuthError> {
    let r = resolve_unchecked(state, client, requested).await?;
    crate::clients::check_allowed_for_resource(client, &r, token_for)?;
    Ok(r)
}

async fn resolve_unchecked(
    state: &Authority,
    client: &Client,
    requested: &[String],
) -> Result<Arc<Resource>, OAuthError> {
    let store = state.store.as_ref();
    match requested {
        [] => {
            if client.kind == ClientKind::PreRegistered && client.resources.is_empty() {
                return Err(crate::clients::not_configured());
            }
            if let [only] = client.resources.as_slice()
                && only != ANY_RESOURCE
            {
                return state
                    .registry
                    .resource_by_id(store, only)
                    .await
                    .map_err(StoreFailure)?
                    .ok_or_else(|| {
                        OAuthError::invalid_target("the client's resource no longer exists")
                    });
            }
            if client.resources.is_empty() || client.has_any_resource() {
                let all = state
                    .registry
                    .resources(store)
                    .await
                    .map_err(StoreFailure)?;
                // The built-in admin API is never a default.
                let mut open = all.iter().filter(|r| !crate::builtin::is_builtin(&r.id));
                if let (Some(only), None) = (open.next(), open.next()) {
                    return Ok(only.clone());
                }
            }
            Err(OAuthError::invalid_target(
                "the resource parameter is required: name the MCP server the token is for",
            ))
        }
        [one] => {
            // Look up first: a registered URL is valid, so the URL parse that
            // tells "not a URL" from "not registered" is needed only on a miss
            // (it was a twentieth of a client-credentials request's CPU).
            let r = match state
                .registry
                .resource_by_uri(store, one)
                .await
                .map_err(StoreFailure)?
            {
                Some(r) => r,
                None if resource_uri::comparable(one).is_none() => {
                    return Err(OAuthError::invalid_target(
                        "resource must be an absolute URL without fragment",
                    ));
                }
                None => {
                    return Err(OAuthError::invalid_target(
                        "the resource is not registered here",
                    ));
                }
            };
            Ok(r)
        }
        _ => Err(OAuthError::invalid_target(
            "only one resource per token is supported; request one resource",
        )),
    }
}
