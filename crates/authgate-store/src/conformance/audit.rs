//! Conformance: the audit log.

use super::support::{NOW, ok, unique};
use crate::Store;
use authgate_core::model::AuditEvent;
use serde_json::json;
use std::sync::Arc;

fn event(at: i64, event: &str) -> AuditEvent {
    AuditEvent {
        id: 0,
        at,
        event: event.to_owned(),
        actor: None,
        client_id: None,
        resource_id: None,
        address: None,
        outcome: "success".into(),
        detail: json!({}),
    }
}

/// Compares everything but the id, which the store assigns.
fn same(got: &AuditEvent, want: &AuditEvent) -> bool {
    AuditEvent {
        id: got.id,
        ..want.clone()
    } == *got
}

/// Audit log: append, newest first, query filter, paging, purge.
pub async fn audit(store: Arc<dyn Store>) {
    ok(
        store.append_audit_events(Vec::new()).await,
        "append_audit_events(empty)",
    );
    let m = unique("mark");
    let mut e1 = event(NOW, &format!("token.{m}.issued"));
    e1.actor = Some("user-1".into());
    e1.client_id = Some("client-1".into());
    e1.resource_id = Some("weather".into());
    e1.address = Some("192.0.2.7".into());
    e1.detail = json!({"scopes": ["a", "b"], "n": 1, "nested": {"ok": true}});
    let mut e2 = event(NOW, "login");
    e2.actor = Some(format!("alice-{m}@example.com"));
    e2.outcome = "failure".into();
    let mut e3 = event(NOW + 1, "token.refresh");
    e3.client_id = Some(format!("client-{m}"));
    let mut e4 = event(NOW + 1, "consent.granted");
    e4.resource_id = Some(format!("res-{m}"));
    let mut e5 = event(NOW + 2, &unique("other"));
    e5.detail = serde_json::Value::Null;
    ok(
        store
            .append_audit_events(vec![e1.clone(), e2.clone()])
            .await,
        "append_audit_events",
    );
    ok(
        store
            .append_audit_events(vec![e3.clone(), e4.clone(), e5.clone()])
            .await,
        "append_audit_events",
    );

    let all = ok(
        store.list_audit_events(Some(&m), None, 100).await,
        "list_audit_events",
    );
    assert_eq!(
        all.len(),
        4,
        "query matches event, actor, client or resource: {all:?}"
    );
    for (got, want) in all.iter().zip([&e4, &e3, &e2, &e1]) {
        assert!(
            same(got, want),
            "list_audit_events: newest first, every field intact\n got: {got:?}\nwant: {want:?}"
        );
    }
    assert!(
        all.windows(2).all(|w| w[0].id > w[1].id),
        "list_audit_events: ids strictly descending"
    );

    let newest = ok(
        store.list_audit_events(None, None, 1).await,
        "list_audit_events",
    );
    assert_eq!(newest.len(), 1, "limit is honoured");
    assert!(
        same(&newest[0], &e5),
        "without query, the newest event comes first"
    );

    // Paging backwards.
    let page1 = ok(
        store.list_audit_events(Some(&m), None, 2).await,
        "list_audit_events",
    );
    assert_eq!(
        page1.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![all[0].id, all[1].id]
    );
    let page2 = ok(
        store
            .list_audit_events(Some(&m), Some(page1[1].id), 2)
            .await,
        "list_audit_events",
    );
    assert_eq!(
        page2.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![all[2].id, all[3].id],
        "before_id pages backwards"
    );
    let page3 = ok(
        store
            .list_audit_events(Some(&m), Some(page2[1].id), 2)
            .await,
        "list_audit_events",
    );
    assert!(page3.is_empty(), "nothing before the oldest event");

    // Purge removes events older than the cut-off, and only those.
    let cutoff = NOW - 500_000;
    ok(store.purge_audit_events(cutoff).await, "purge_audit_events");
    let m2 = unique("mark");
    let old = event(cutoff - 1, &format!("old.{m2}"));
    let fresh = event(cutoff + 1, &format!("fresh.{m2}"));
    ok(
        store
            .append_audit_events(vec![old.clone(), fresh.clone()])
            .await,
        "append_audit_events",
    );
    assert_eq!(
        ok(store.purge_audit_events(cutoff).await, "purge_audit_events"),
        1
    );
    let left = ok(
        store.list_audit_events(Some(&m2), None, 10).await,
        "list_audit_events",
    );
    assert_eq!(left.len(), 1);
    assert!(same(&left[0], &fresh));
    assert_eq!(
        ok(
            store.list_audit_events(Some(&m), None, 100).await,
            "list_audit_events"
        )
        .len(),
        4,
        "purge_audit_events keeps recent events"
    );
}
