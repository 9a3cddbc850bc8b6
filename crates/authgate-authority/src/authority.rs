//! The application's state: everything a request needs, built once at
//! start-up (`authgate-server`'s `serve`) and shared.

use crate::audit_sink::AuditSink;
use crate::client_services::ClientServices;
use crate::config::Settings;
use crate::discovery::DiscoveryCache;
use crate::keys::KeyManager;
use crate::passwords::PasswordChecker;
use crate::registry::Registry;
use crate::throttle::SignInThrottle;
use authgate_core::clock::Clock;
use authgate_core::crypto_box::Kek;
use authgate_core::random::Random;
use authgate_store::Store;
use std::sync::Arc;

pub struct Authority {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyManager>,
    pub kek: Arc<Kek>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Random>,
    pub registry: Registry,
    /// Client ID metadata documents, client JWKS, registration limits.
    pub client_services: ClientServices,
    pub passwords: PasswordChecker,
    pub audit: AuditSink,
    pub login_throttle: SignInThrottle,
    /// Password reset requests (mail sent on request).
    pub reset_throttle: crate::throttle::RequestThrottle,
    /// Self sign-up requests (mail sent on request), counted alike.
    pub signup_throttle: crate::throttle::RequestThrottle,
    /// The rendered metadata documents.
    pub discovery: DiscoveryCache,
    /// Upstream identity providers: their fetcher, discovery documents
    /// and key sets.
    pub federation: crate::federation::oidc::FederationServices,
}
