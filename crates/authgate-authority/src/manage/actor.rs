//! Who makes a change ([`Actor`]), and the audit record each change
//! leaves under that name.

use crate::Authority;
use serde_json::Value;

/// Who is making a change (for the audit log).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `client:<id>` for API tokens, the person's email for the dashboard.
    pub name: String,
    pub address: Option<String>,
    /// The person acting, when a person is (the dashboard, a token they
    /// delegated): nobody deletes or disables their own account.
    pub user_id: Option<String>,
}

/// Audits a change `actor` made (outcome `ok`).
pub(crate) fn record(
    state: &Authority,
    actor: &Actor,
    event: &str,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    detail: Value,
) {
    crate::audit::audit_detail(
        state,
        event,
        Some(&actor.name),
        client_id,
        resource_id,
        actor.address.as_deref(),
        "ok",
        detail,
    );
}
