//! Conformance: what the dashboard asks for — pages of filtered clients,
//! filtered audit events, and the deployment's facts.

use super::fixtures::{bare_client, full_client};
use super::support::{NOW, ok, unique};
use crate::{AuditFilter, ClientFilter, Store};
use authgate_core::model::{AuditEvent, ClientKind};
use serde_json::json;
use std::sync::Arc;

fn ids(page: &crate::ClientPage) -> Vec<&str> {
    page.items.iter().map(|c| c.client_id.as_str()).collect()
}

/// `list_clients_page`: text (id, name, redirect URI; any case), kind and
/// blocked narrow the list; newest first; offset and limit page it; the
/// total counts every match.
pub async fn client_pages(store: Arc<dyn Store>) {
    let run = unique("cp");
    let host = unique("host");
    let name = unique("name");
    let (a, b, c) = (format!("{run}-a"), format!("{run}-b"), format!("{run}-c"));
    let mut ca = full_client(&a, ClientKind::Dynamic, NOW - 10);
    ca.metadata.redirect_uris = vec![format!("https://{host}.example.net/cb")];
    ca.blocked = false;
    let mut cb = bare_client(&b, ClientKind::PreRegistered, NOW - 20);
    cb.metadata.client_name = Some(format!("The {name} app"));
    let mut cc = bare_client(&c, ClientKind::MetadataDocument, NOW - 30);
    cc.blocked = true;
    for cl in [&ca, &cb, &cc] {
        ok(store.insert_client(cl).await, "insert_client");
    }
    let page = |text: &str, kind: Option<ClientKind>, blocked: Option<bool>| ClientFilter {
        text: Some(text.to_owned()),
        kind,
        blocked,
    };
    let list = |f: ClientFilter, offset: i64, limit: i64| {
        let store = store.clone();
        async move {
            ok(
                store.list_clients_page(&f, offset, limit).await,
                "list_clients_page",
            )
        }
    };

    let all = list(page(&run, None, None), 0, 10).await;
    assert_eq!(ids(&all), [&a, &b, &c], "newest first, text matches the id");
    assert_eq!(all.items[0], ca, "every field intact");
    assert_eq!(all.total, 3);
    let first = list(page(&run, None, None), 0, 2).await;
    assert_eq!(
        (ids(&first), first.total),
        (vec![a.as_str(), b.as_str()], 3)
    );
    let second = list(page(&run, None, None), 2, 2).await;
    assert_eq!(
        (ids(&second), second.total),
        (vec![c.as_str()], 3),
        "offset pages on"
    );
    let past = list(page(&run, None, None), 9, 2).await;
    assert_eq!(
        (past.items.len(), past.total),
        (0, 3),
        "past the end: empty"
    );

    let by_host = list(page(&host.to_uppercase(), None, None), 0, 10).await;
    assert_eq!(
        ids(&by_host),
        [&a],
        "text matches a redirect URI, in any case"
    );
    let by_name = list(page(&name, None, None), 0, 10).await;
    assert_eq!(ids(&by_name), [&b], "text matches the client name");
    let md = list(page(&run, Some(ClientKind::MetadataDocument), None), 0, 10).await;
    assert_eq!((ids(&md), md.total), (vec![c.as_str()], 1), "kind narrows");
    let blocked = list(page(&run, None, Some(true)), 0, 10).await;
    assert_eq!(ids(&blocked), [&c], "blocked narrows");
    let active = list(page(&run, None, Some(false)), 0, 10).await;
    assert_eq!(ids(&active), [&a, &b], "not blocked narrows");
    let none = list(page(&run, Some(ClientKind::Dynamic), Some(true)), 0, 10).await;
    assert_eq!((none.items.len(), none.total), (0, 0), "filters combine");
    let unfiltered = list(ClientFilter::default(), 0, 1_000_000).await;
    assert!(
        [&a, &b, &c]
            .iter()
            .all(|id| unfiltered.items.iter().any(|cl| &&cl.client_id == id)),
        "no filter: every client"
    );
    for id in [&a, &b, &c] {
        ok(store.delete_client(id).await, "delete_client");
    }
}

fn event(at: i64, name: &str, actor: &str, outcome: &str, mark: &str) -> AuditEvent {
    AuditEvent {
        id: 0,
        at,
        event: name.to_owned(),
        actor: Some(actor.to_owned()),
        client_id: Some(mark.to_owned()),
        resource_id: None,
        address: None,
        outcome: outcome.to_owned(),
        detail: json!({}),
    }
}

/// `find_audit_events`: event prefix, actors, outcomes and a time range
/// narrow the events, together and with the text.
pub async fn audit_filters(store: Arc<dyn Store>) {
    let m = unique("af");
    let (uid, email) = (format!("uid-{m}"), format!("{m}@example.com"));
    let e1 = event(NOW, "sign_in.succeeded", &uid, "ok", &m);
    let e2 = event(NOW + 1, "sign_in.failed", &email, "refused", &m);
    let e3 = event(NOW + 2, "admin.client.created", &email, "ok", &m);
    ok(
        store
            .append_audit_events(vec![e1.clone(), e2.clone(), e3.clone()])
            .await,
        "append_audit_events",
    );
    let find = |f: AuditFilter| {
        let store = store.clone();
        let m = m.clone();
        async move {
            let f = AuditFilter { text: Some(m), ..f };
            ok(
                store.find_audit_events(&f, None, 100).await,
                "find_audit_events",
            )
            .into_iter()
            .map(|e| e.event)
            .collect::<Vec<_>>()
        }
    };
    let names = |v: &[&AuditEvent]| v.iter().map(|e| e.event.clone()).collect::<Vec<_>>();

    assert_eq!(find(AuditFilter::default()).await, names(&[&e3, &e2, &e1]));
    let prefix = AuditFilter {
        event_prefix: Some("sign_in.".into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(prefix).await, names(&[&e2, &e1]), "event prefix");
    let exact = AuditFilter {
        event_prefix: Some("sign_in.failed".into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(exact).await, names(&[&e2]), "a whole event name");
    let person = AuditFilter {
        actors: Some(vec![uid.clone(), email.clone()]),
        ..AuditFilter::default()
    };
    assert_eq!(
        find(person).await,
        names(&[&e3, &e2, &e1]),
        "any of the actors"
    );
    let by_email = AuditFilter {
        actors: Some(vec![email.clone()]),
        ..AuditFilter::default()
    };
    assert_eq!(find(by_email).await, names(&[&e3, &e2]), "one actor");
    let refused = AuditFilter {
        outcomes: Some(vec!["refused".into(), "denied".into()]),
        ..AuditFilter::default()
    };
    assert_eq!(find(refused).await, names(&[&e2]), "outcomes");
    let window = AuditFilter {
        from: Some(NOW + 1),
        until: Some(NOW + 2),
        ..AuditFilter::default()
    };
    assert_eq!(
        find(window).await,
        names(&[&e2]),
        "from inclusive, until exclusive"
    );
    let nothing = AuditFilter {
        actors: Some(vec![]),
        ..AuditFilter::default()
    };
    assert!(
        find(nothing).await.is_empty(),
        "an empty actor list matches none"
    );
    let combined = AuditFilter {
        event_prefix: Some("sign_in.".into()),
        outcomes: Some(vec!["ok".into()]),
        from: Some(NOW),
        ..AuditFilter::default()
    };
    assert_eq!(find(combined).await, names(&[&e1]), "filters combine");
}

/// Facts: put inserts or replaces, get reads one, list finds a prefix.
pub async fn facts(store: Arc<dyn Store>) {
    let k = unique("fact");
    assert_eq!(ok(store.get_fact(&k).await, "get_fact"), None);
    let v1 = json!({"ok": false, "failed": ["metadata"]});
    ok(
        store.put_fact(&format!("{k}:a"), &v1, NOW).await,
        "put_fact",
    );
    let v2 = json!({"ok": true, "n": 2, "by": "ops@example.com ✓"});
    ok(
        store.put_fact(&format!("{k}:a"), &v2, NOW + 5).await,
        "put_fact",
    );
    ok(
        store.put_fact(&format!("{k}:b"), &v1, NOW).await,
        "put_fact",
    );
    let got = ok(store.get_fact(&format!("{k}:a")).await, "get_fact");
    assert_eq!(
        got,
        Some(crate::Fact {
            key: format!("{k}:a"),
            value: v2,
            at: NOW + 5
        }),
        "put replaces"
    );
    let listed = ok(store.list_facts(&format!("{k}:")).await, "list_facts");
    assert_eq!(
        listed.iter().map(|f| f.key.clone()).collect::<Vec<_>>(),
        [format!("{k}:a"), format!("{k}:b")],
        "by key, only the prefix's"
    );
}
