//! Group -> scope rules on the authorize and consent paths: the requested
//! scopes a person's groups do not allow are dropped before consent is
//! shown, recorded or a code issued (RFC 6749 3.3: fewer scopes than asked);
//! when nothing requested is allowed the client gets `access_denied`.
//! The rule itself is `authgate_authority::orgs::scopes`.

use crate::state::AppState;
use authgate_core::authorize::AuthorizationRequest;
use authgate_store::StoreError;

/// What the rules leave of a request.
pub enum Ruled {
    /// Go on with the request, its scopes narrowed to what is allowed.
    Go(Box<AuthorizationRequest>),
    /// Nothing requested is allowed: answer `access_denied`.
    Denied,
}

pub async fn apply(
    state: &AppState,
    user_id: &str,
    mut req: AuthorizationRequest,
) -> Result<Ruled, StoreError> {
    let d = authgate_authority::orgs::scopes::decide_for_person(
        state,
        user_id,
        &req.client_id,
        &req.resource_id,
        &req.scopes,
    )
    .await?;
    if d.denies_all() {
        return Ok(Ruled::Denied);
    }
    req.scopes = d.allowed;
    Ok(Ruled::Go(Box::new(req)))
}

/// The error description sent with `access_denied`.
pub const DENIED: &str = "the person's groups do not allow the requested scopes";
