//! How a person signed in, as the consent and connected-apps pages show it
//! (issue 19): the identity provider's name and the organization's, read
//! from the [`AuthContext`] the session, code and grant carry.

use crate::state::AppState;
use authgate_core::model::AuthContext;

/// The names a page shows; `None` for a local sign-in (no identity
/// provider) or a person of no organization.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SignedInThrough {
    pub idp: Option<String>,
    pub org: Option<String>,
}

/// The display names behind `ctx`'s ids. A connection or organization
/// deleted since (or a store hiccup) shows its id: this is information
/// for the person, never a reason to fail their page.
pub async fn describe(state: &AppState, ctx: &AuthContext) -> SignedInThrough {
    let idp = match ctx.idp.as_deref() {
        None => None,
        Some(id) => Some(match state.store.get_connection(id).await {
            Ok(Some(c)) => c.display_name,
            _ => id.to_owned(),
        }),
    };
    let org = match ctx.org_id.as_deref() {
        None => None,
        Some(id) => Some(match state.store.get_org(id).await {
            Ok(Some(o)) => o.name,
            _ => id.to_owned(),
        }),
    };
    SignedInThrough { idp, org }
}
