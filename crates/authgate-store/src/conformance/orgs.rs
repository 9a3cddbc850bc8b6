//! Organizations, their domains and group -> scope rules.

use super::support::{NOW, conflict, ok, unique};
use crate::Store;
use authgate_core::org::{DomainMethod, OrgDomain, Organization, ScopeGroupRule};
use std::sync::Arc;

fn org(id: &str) -> Organization {
    Organization {
        id: id.into(),
        name: "Acme ✓".into(),
        connection_ids: vec!["okta".into(), "google".into()],
        forbid_local_passwords: true,
        require_mfa: false,
        disabled: false,
        created_at: NOW,
    }
}

/// Organizations round-trip, ids and domains are unique, domains are
/// verified once marked, deleting an organization deletes its domains.
pub async fn organizations(store: Arc<dyn Store>) {
    let id = unique("org");
    let o = org(&id);
    ok(store.insert_org(&o).await, "insert_org");
    conflict(store.insert_org(&o).await, "insert_org twice");
    assert_eq!(ok(store.get_org(&id).await, "get_org"), Some(o.clone()));
    let mut changed = o.clone();
    changed.connection_ids = vec![];
    changed.disabled = true;
    changed.require_mfa = true;
    changed.forbid_local_passwords = false;
    assert!(ok(store.update_org(&changed).await, "update_org"));
    assert_eq!(
        ok(store.get_org(&id).await, "get_org"),
        Some(changed.clone())
    );
    assert!(!ok(
        store.update_org(&org(&unique("org"))).await,
        "update missing"
    ));
    let listed = ok(store.list_orgs().await, "list_orgs");
    assert!(listed.contains(&changed), "list_orgs has it");

    let domain = format!("{}.example", unique("d"));
    let d = OrgDomain {
        org_id: id.clone(),
        domain: domain.clone(),
        verification_token: "tok".into(),
        verified_at: None,
        method: None,
        created_at: NOW,
    };
    ok(store.insert_org_domain(&d).await, "insert_org_domain");
    let other = unique("org");
    ok(store.insert_org(&org(&other)).await, "insert_org");
    conflict(
        store
            .insert_org_domain(&OrgDomain {
                org_id: other.clone(),
                ..d.clone()
            })
            .await,
        "a domain belongs to one organization",
    );
    assert_eq!(
        ok(store.get_org_domain(&domain).await, "get"),
        Some(d.clone())
    );
    assert!(ok(
        store
            .mark_org_domain_verified(&domain, DomainMethod::Manual, NOW + 3)
            .await,
        "mark verified"
    ));
    assert!(!ok(
        store
            .mark_org_domain_verified("missing.example", DomainMethod::Dns, NOW)
            .await,
        "mark missing"
    ));
    let got = ok(store.list_org_domains(&id).await, "list_org_domains");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].verified_at, Some(NOW + 3));
    assert_eq!(got[0].method, Some(DomainMethod::Manual));
    assert!(got[0].is_verified());

    let second = format!("{}.example", unique("d"));
    ok(
        store
            .insert_org_domain(&OrgDomain {
                domain: second.clone(),
                ..d.clone()
            })
            .await,
        "insert second",
    );
    assert!(ok(store.delete_org_domain(&second).await, "delete domain"));
    assert!(!ok(store.delete_org_domain(&second).await, "delete twice"));

    assert!(ok(store.delete_org(&id).await, "delete_org"));
    assert!(!ok(store.delete_org(&id).await, "delete_org twice"));
    assert_eq!(ok(store.get_org(&id).await, "get deleted"), None);
    assert_eq!(
        ok(store.get_org_domain(&domain).await, "domain of deleted org"),
        None,
        "deleting an organization deletes its domains"
    );
    ok(store.delete_org(&other).await, "cleanup");
}

/// Rules are per (resource, scope), replaced by a second put, listed by
/// scope.
pub async fn scope_group_rules(store: Arc<dyn Store>) {
    let res = unique("res");
    let r1 = ScopeGroupRule {
        resource_id: res.clone(),
        scope: "notes:write".into(),
        groups: vec!["editors".into(), "admins".into()],
    };
    let r2 = ScopeGroupRule {
        resource_id: res.clone(),
        scope: "admin".into(),
        groups: vec!["admins".into()],
    };
    ok(store.put_scope_group_rule(&r1).await, "put");
    ok(store.put_scope_group_rule(&r2).await, "put");
    let r1b = ScopeGroupRule {
        groups: vec!["writers".into()],
        ..r1.clone()
    };
    ok(store.put_scope_group_rule(&r1b).await, "put replaces");
    assert_eq!(
        ok(store.list_scope_group_rules(&res).await, "list"),
        vec![r2.clone(), r1b.clone()],
        "by scope, replaced"
    );
    assert!(ok(
        store.delete_scope_group_rule(&res, "admin").await,
        "delete"
    ));
    assert!(!ok(
        store.delete_scope_group_rule(&res, "admin").await,
        "delete twice"
    ));
    assert_eq!(
        ok(store.list_scope_group_rules(&res).await, "list"),
        vec![r1b]
    );
}
