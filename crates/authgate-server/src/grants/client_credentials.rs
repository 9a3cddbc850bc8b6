//! `grant_type=client_credentials` (RFC 6749 §4.4) for confidential clients.

use crate::app::AppState;
use crate::client_auth::AuthenticatedClient;
use crate::issue::{self, AccessTokenSpec, TokenResponse};
use authgate_core::{OAuthError, scope};

pub async fn grant(
    state: &AppState,
    client: &AuthenticatedClient,
    requested_scope: Option<&str>,
    resource: &[String],
) -> Result<TokenResponse, OAuthError> {
    if !client.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials requires a confidential client",
        ));
    }
    let c = &client.client;
    if !c.metadata.grant_types.is_empty()
        && !c
            .metadata
            .grant_types
            .iter()
            .any(|g| g == "client_credentials")
    {
        return Err(OAuthError::unauthorized_client(
            "this client is not allowed the client_credentials grant",
        ));
    }
    let res = super::resource::resolve(state, c, resource).await?;
    let requested = scope::parse(requested_scope.unwrap_or(""))?;
    let scopes = scope::negotiate_strict(
        &requested,
        &res.scopes,
        &res.default_scopes,
        c.allowed_scopes.as_deref(),
    )?;
    let at = issue::access_token(
        state,
        AccessTokenSpec {
            client_id: &c.client_id,
            subject: &c.client_id,
            resource: &res,
            scopes: &scopes,
            auth_time: None,
            grant_id: None,
        },
    )?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope: at.claims.scope,
        refresh_token: None,
        id_token: None,
    })
}
