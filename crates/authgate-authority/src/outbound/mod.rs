//! Outbound HTTP: the one fetcher ([`fetch::Fetcher`]) and the one address
//! policy ([`policy::AddressPolicy`]) behind every URL authgate fetches —
//! client ID metadata documents, client `jwks_uri`s, and the admin
//! connection check of an MCP server.

pub mod fetch;
pub mod negative_cache;
pub mod policy;

pub use fetch::{Answer, FetchError, FetchLimits, Fetched, Fetcher};
pub use negative_cache::NegativeCache;
pub use policy::AddressPolicy;
