//! The admin operations, shared by the API and the dashboard: validate
//! (errors name the field), write, invalidate caches, audit. Nothing here
//! knows about HTTP.

mod actor;
mod error;
mod paging;
pub mod roles;
pub mod types;

mod clients;
mod deployment;
mod keys;
mod resources;
mod users;

pub use actor::Actor;
pub(crate) use actor::record;
pub use error::{AdminError, AdminResult};
pub use paging::page;

pub use clients::*;
pub use deployment::*;
pub use keys::*;
pub use resources::*;
pub use users::*;
