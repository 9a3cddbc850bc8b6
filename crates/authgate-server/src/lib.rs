//! The front doors of authgate: the HTTP endpoints, the pages, the admin
//! API and dashboard, the `authgate` CLI and `serve`. The application
//! itself (grants, clients, keys, sign-in, management operations...) is
//! `authgate-authority`; handlers here are thin: extract, call the
//! authority, map the result (errors map in `http::error`).

pub mod admin;
pub mod cli;
pub mod endpoints;
pub mod format;
pub mod gateway;
pub mod http;
pub mod listener;
pub mod mail;
pub mod metric_catalog;
pub mod pages;
pub mod router;
pub mod serve;
pub mod state;
pub mod telemetry;
