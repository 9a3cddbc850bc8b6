//! What an MCP server's id may be, and the one id reserved for the
//! built-in admin API. A leaf, so the checks of declared resources and of
//! client drafts need not reach the built-in resource (which needs the
//! settings).

/// Id of the built-in resource that is the admin API.
pub const ADMIN_RESOURCE_ID: &str = "authgate-admin";

/// Resource ids: short, URL-safe identifiers.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `id` is the built-in admin resource (not editable or deletable).
pub fn is_builtin(id: &str) -> bool {
    id == ADMIN_RESOURCE_ID
}
