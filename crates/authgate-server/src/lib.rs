//! The authgate authorization server: configuration, HTTP endpoints, pages
//! and the management CLI. Protocol rules live in `authgate-core`; storage
//! behind `authgate-store`. Handlers here are thin: extract, call the
//! grant or rule, map the result (errors map in `http::error`).

pub mod admin;
pub mod app;
pub mod audit_coalesce;
pub mod cimd;
pub mod cli;
pub mod client_auth;
pub mod client_draft;
pub mod client_metadata;
pub mod clients;
pub mod config;
pub mod endpoints;
pub mod grants;
pub mod http;
pub mod issue;
pub mod keys;
pub mod listener;
pub mod outbound;
pub mod pages;
pub mod passwords;
pub mod provision;
pub mod registry;
pub mod resource_metadata;
pub mod serve;
pub mod store_open;
pub mod telemetry;
pub mod throttle;
