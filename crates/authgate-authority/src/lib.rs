//! The authgate application, with no HTTP in it: grants and token
//! issuance, client authentication and registration rules, client ID
//! metadata documents, signing keys, the registry of MCP servers and
//! clients, passwords and sign-in, throttling, the audit trail,
//! provisioning from the configuration file, discovery documents,
//! management operations and the connection check.
//!
//! Protocol rules live below in `authgate-core`, storage behind
//! `authgate-store`. The front doors (endpoints, pages, the admin API and
//! dashboard, the CLI) are `authgate-server`: they parse a request, call
//! in here, and map the result to HTTP.

#![forbid(unsafe_code)]

pub mod audit;
pub mod audit_coalesce;
pub mod audit_sink;
pub mod branding;
pub mod builtin;
pub mod check;
pub mod cimd;
pub mod client_auth;
pub mod client_draft;
pub mod client_metadata;
pub mod client_reaping;
pub mod client_services;
pub mod clients;
pub mod config;
pub mod config_error;
pub mod config_keys;
pub mod config_unknown;
pub mod declared;
pub mod discovery;
pub mod federation;
pub mod grants;
pub mod introspection;
pub mod issue;
pub mod keys;
pub mod listener_config;
pub mod mail;
pub mod manage;
pub mod mfa;
pub mod net;
pub mod orgs;
pub mod outbound;
pub mod passkeys;
pub mod passwords;
pub mod provision;
pub mod registration;
pub mod registry;
pub mod resource_ids;
pub mod resource_metadata;
pub mod setup_links;
pub mod sign_in;
pub mod signup;
pub mod store_failure;
pub mod store_open;
pub mod throttle;

mod authority;

pub use authority::Authority;
pub use store_failure::StoreFailure;
