//! A storage failure on its way to a client.

use authgate_core::OAuthError;
use authgate_store::StoreError;

/// Wraps a storage failure: logged in full, reported to the client only as
/// `server_error`.
pub struct StoreFailure(pub StoreError);

impl From<StoreFailure> for OAuthError {
    fn from(e: StoreFailure) -> Self {
        tracing::error!(error = %e.0, "storage failure");
        OAuthError::server_error("the server could not complete the request; try again")
    }
}
