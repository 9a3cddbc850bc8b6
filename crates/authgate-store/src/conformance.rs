//! The conformance suite every storage backend passes.
//!
//! A backend's integration test calls [`run_all`] (or one area at a time)
//! with a fresh store:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     let store = std::sync::Arc::new(MyStore::open(...).await.unwrap());
//!     authgate_store::conformance::run_all(store).await;
//! }
//! ```
//!
//! The suite panics (with the area and the broken rule in the message) on the
//! first violation. Every identifier it writes carries a random suffix, so it
//! can run again and again against one database; the only global effects are
//! the purge and reap calls, which only remove rows that are expired (or
//! unused) long before the suite's own fixed clock, and
//! `retire_signing_keys_except`, which retires every other signing key. Run it
//! against test databases only.
//!
//! The concurrency checks spawn tasks: run the suite on a multi-threaded
//! tokio runtime so they actually race.

// Test support, only called from the backends' tests: a broken rule panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::Store;
use std::sync::Arc;
use support::ok;

mod audit;
mod catalog;
mod dashboard;
mod federation;
mod fixtures;
mod mfa;
mod orgs;
mod outbox;
mod passkeys;
mod people;
mod sessions;
mod support;
mod tokens;

pub use audit::audit;
pub use catalog::{clients, first_signing_key_once, resources, signing_keys, users};
pub use dashboard::{audit_filters, client_pages, facts};
pub use federation::{connections, user_identities};
pub use mfa::mfa;
pub use orgs::{organizations, scope_group_rules};
pub use outbox::outbox;
pub use passkeys::passkeys;
pub use people::{user_deletion, users_paged};
pub use sessions::{access_token_revocations, consents, nonces, sessions};
pub use support::{NOW, RACERS, unique};
pub use tokens::{codes, grants, refresh_tokens};

/// Runs every area, in order. Panics on the first violation.
pub async fn run_all(store: Arc<dyn Store>) {
    ping(store.clone()).await;
    resources(store.clone()).await;
    clients(store.clone()).await;
    users(store.clone()).await;
    users_paged(store.clone()).await;
    user_deletion(store.clone()).await;
    signing_keys(store.clone()).await;
    codes(store.clone()).await;
    grants(store.clone()).await;
    refresh_tokens(store.clone()).await;
    consents(store.clone()).await;
    access_token_revocations(store.clone()).await;
    sessions(store.clone()).await;
    nonces(store.clone()).await;
    audit(store.clone()).await;
    client_pages(store.clone()).await;
    audit_filters(store.clone()).await;
    facts(store.clone()).await;
    organizations(store.clone()).await;
    scope_group_rules(store.clone()).await;
    passkeys(store.clone()).await;
    mfa(store.clone()).await;
    outbox(store.clone()).await;
    connections(store.clone()).await;
    user_identities(store).await;
}

/// `ping` answers and `backend` names the backend.
pub async fn ping(store: Arc<dyn Store>) {
    ok(store.ping().await, "ping");
    assert!(
        !store.backend().is_empty(),
        "backend() must name the backend"
    );
}
