//! Group -> scope rules per MCP server: `(resource, scope)` may only be
//! granted to a person in one of the rule's groups. Enforced in one place,
//! [`decide_scopes`], which consent and authorize call.
//!
//! The decision when some requested scopes are not allowed: those scopes are
//! dropped from what the person can consent to (RFC 6749 section 3.3 lets
//! the server issue fewer scopes than requested, and says so in the token
//! response's `scope`). When *none* of the requested scopes is allowed the
//! request is refused with `access_denied` (RFC 6749 section 4.1.2.1: the
//! resource owner's side denied it; `invalid_scope` would wrongly suggest
//! the client asked for an unknown scope).

use crate::Authority;
use authgate_core::org::ScopeGroupRule;
use authgate_store::StoreError;

/// Which of the requested scopes a person may consent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDecision {
    pub allowed: Vec<String>,
    /// Requested scopes a rule keeps from this person.
    pub refused: Vec<String>,
}

impl ScopeDecision {
    /// Every requested scope was refused: answer `access_denied`.
    pub fn denies_all(&self) -> bool {
        self.allowed.is_empty() && !self.refused.is_empty()
    }
}

/// The pure rule: a scope with a rule needs one of its groups.
pub fn apply_rules(
    rules: &[ScopeGroupRule],
    requested: &[String],
    groups: &[String],
) -> ScopeDecision {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for s in requested {
        let ok = match rules.iter().find(|r| &r.scope == s) {
            None => true,
            Some(r) => r.groups.iter().any(|g| groups.contains(g)),
        };
        if ok {
            allowed.push(s.clone());
        } else {
            refused.push(s.clone());
        }
    }
    ScopeDecision { allowed, refused }
}

/// The decision for `resource_id`, with the person's `groups` (as their
/// upstream identity provider asserted them; a local account has none).
pub async fn decide_scopes(
    auth: &Authority,
    resource_id: &str,
    requested: &[String],
    groups: &[String],
) -> Result<ScopeDecision, StoreError> {
    let rules = auth.store.list_scope_group_rules(resource_id).await?;
    Ok(apply_rules(&rules, requested, groups))
}

/// The groups a person is in, as their organization's identity providers
/// last asserted them (the claims stored on each linked identity,
/// refreshed at every upstream sign-in). Only the connections of the
/// person's own (enabled) organization count: any other upstream — a
/// social login, a tenant someone made for themselves — could name
/// whatever group it likes. Local accounts and people of no organization
/// have none, so a scope with a rule is refused to them (fail closed).
pub async fn groups_of(auth: &Authority, user_id: &str) -> Result<Vec<String>, StoreError> {
    let mut groups: Vec<String> = Vec::new();
    let Some(user) = auth.store.get_user(user_id).await? else {
        return Ok(groups);
    };
    let Some(org) = super::org_for_email(auth, &user.email)
        .await?
        .filter(|o| !o.disabled)
    else {
        return Ok(groups);
    };
    for identity in auth.store.list_user_identities(user_id).await? {
        if !org.connection_ids.contains(&identity.connection_id) {
            continue;
        }
        for g in identity.claims.groups {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    Ok(groups)
}

/// The decision for `user_id`'s request of `requested` at `resource_id`,
/// audited (`consent.scopes_refused`) when a rule refuses something. The
/// one place the authorize and consent paths ask.
pub async fn decide_for_person(
    auth: &Authority,
    user_id: &str,
    client_id: &str,
    resource_id: &str,
    requested: &[String],
) -> Result<ScopeDecision, StoreError> {
    let groups = groups_of(auth, user_id).await?;
    let d = decide_scopes(auth, resource_id, requested, &groups).await?;
    if !d.refused.is_empty() {
        crate::audit::audit_detail(
            auth,
            "consent.scopes_refused",
            Some(user_id),
            Some(client_id),
            Some(resource_id),
            None,
            if d.denies_all() { "denied" } else { "narrowed" },
            serde_json::json!({"refused": d.refused}),
        );
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scopes_with_rules_need_a_group() {
        let rules = vec![ScopeGroupRule {
            resource_id: "notes".into(),
            scope: "notes:write".into(),
            groups: v(&["editors", "admins"]),
        }];
        let d = apply_rules(&rules, &v(&["notes:read", "notes:write"]), &v(&["staff"]));
        assert_eq!(d.allowed, v(&["notes:read"]));
        assert_eq!(d.refused, v(&["notes:write"]));
        assert!(!d.denies_all());
        let d = apply_rules(&rules, &v(&["notes:write"]), &v(&["admins"]));
        assert_eq!(d.allowed, v(&["notes:write"]));
        let d = apply_rules(&rules, &v(&["notes:write"]), &[]);
        assert!(d.denies_all());
        let d = apply_rules(&rules, &[], &[]);
        assert!(!d.denies_all(), "an empty request is not a refusal");
    }
}
