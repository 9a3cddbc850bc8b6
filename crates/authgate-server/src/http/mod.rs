//! HTTP plumbing shared by endpoints: error mapping, form parsing.

pub mod error;
pub mod form;
