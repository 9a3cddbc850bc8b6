//! `grant_type=client_credentials` (RFC 6749 §4.4) for confidential clients
//! (checked before dispatch, `grants::check_allowed`).
//! Who may have it for which MCP server is `clients::check_allowed_for_resource`
//! (dynamic and metadata document clients only where the server opts in);
//! the client's registered scope caps what it gets (`scope::negotiate`).

use crate::Authority;
use crate::client_auth::AuthenticatedClient;
use crate::clients::TokenFor;
use crate::issue::{self, AccessTokenSpec, TokenResponse};
use authgate_core::{OAuthError, scope};

pub async fn grant(
    state: &Authority,
    client: &AuthenticatedClient,
    requested_scope: Option<&str>,
    resource: &[String],
) -> Result<TokenResponse, OAuthError> {
    let c = &client.client;
    let res = super::resource::resolve(state, c, resource, TokenFor::Client).await?;
    let requested = scope::parse(requested_scope.unwrap_or(""))?;
    let scopes = scope::negotiate(
        &requested,
        &res.scopes,
        &res.default_scopes,
        crate::clients::machine_scope_ceiling(c, &res).as_deref(),
        scope::UnknownScopes::Refuse,
    )?;
    // A machine token carries no identity: OpenID Connect scopes mean nothing here.
    if let Some(s) = scopes
        .iter()
        .find(|s| scope::OIDC_SCOPES.contains(&s.as_str()))
    {
        return Err(OAuthError::invalid_scope(format!(
            "scope {s:?} needs a person; client_credentials cannot grant it"
        )));
    }
    let at = issue::access_token(
        state,
        AccessTokenSpec {
            client_id: &c.client_id,
            subject: &c.client_id,
            resource: &res,
            scopes: &scopes,
            auth_time: None,
            grant_id: None,
            auth: None,
        },
    )?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope: at.claims.scope,
        refresh_token: None,
        id_token: None,
        resource_id: res.id.clone(),
    })
}
