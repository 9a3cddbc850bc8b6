//! Conformance: upstream connections and the links from their subjects to
//! local people (issue 19).

use super::fixtures::user;
use super::support::{NOW, conflict, ok, only_ours, strings, unique};
use crate::Store;
use authgate_core::connection::*;
use serde_json::json;
use std::sync::Arc;

fn connection(id: &str, created_at: i64) -> Connection {
    Connection {
        id: id.to_owned(),
        kind: ConnectionKind::Oidc,
        display_name: format!("Upstream {id}"),
        preset: Some("okta".into()),
        config: json!({"issuer": "https://idp.example.com", "client_id": "abc", "scopes": ["openid", "email"]}),
        secret_sealed: Some(vec![0, 1, 2, 255]),
        trusted_email_domains: strings(&["example.com", "example.org"]),
        show_on_login: true,
        disabled: false,
        created_at,
    }
}

fn identity(connection_id: &str, subject: &str, user_id: &str, at: i64) -> UserIdentity {
    UserIdentity {
        connection_id: connection_id.to_owned(),
        subject: subject.to_owned(),
        user_id: user_id.to_owned(),
        claims: IdentityClaims {
            email: Some("ada@example.com".into()),
            email_verified: true,
            name: Some("Ada".into()),
            groups: strings(&["eng", "ops"]),
        },
        created_at: at,
        last_seen_at: at,
    }
}

/// Connections round-trip every field, ids are unique, updates replace,
/// lists come in creation order, and deleting a connection deletes its
/// links.
pub async fn connections(store: Arc<dyn Store>) {
    let a = connection(&unique("conn-a"), NOW - 20);
    let mut b = connection(&unique("conn-b"), NOW - 10);
    b.kind = ConnectionKind::Github;
    b.preset = None;
    b.secret_sealed = None;
    b.trusted_email_domains = vec![];
    b.show_on_login = false;
    b.disabled = true;
    b.config = json!({});
    ok(store.insert_connection(&b).await, "insert_connection");
    ok(store.insert_connection(&a).await, "insert_connection");
    conflict(store.insert_connection(&a).await, "insert_connection twice");
    assert_eq!(
        ok(store.get_connection(&a.id).await, "get_connection"),
        Some(a.clone()),
        "a connection round-trips every field"
    );
    assert_eq!(
        ok(store.get_connection(&b.id).await, "get_connection"),
        Some(b.clone()),
        "empty and absent fields round-trip"
    );
    assert_eq!(ok(store.get_connection(&unique("none")).await, "get"), None);
    let listed = only_ours(
        ok(store.list_connections().await, "list_connections"),
        &[&a.id, &b.id],
        |c| &c.id,
    );
    assert_eq!(listed, vec![a.clone(), b.clone()], "creation order");

    let mut a2 = a.clone();
    a2.display_name = "Renamed".into();
    a2.secret_sealed = None;
    a2.trusted_email_domains = strings(&["example.net"]);
    a2.disabled = true;
    assert!(ok(store.update_connection(&a2).await, "update_connection"));
    assert_eq!(ok(store.get_connection(&a.id).await, "get"), Some(a2));
    assert!(
        !ok(
            store
                .update_connection(&connection(&unique("none"), NOW))
                .await,
            "update"
        ),
        "updating a missing connection reports it"
    );

    // Deleting a connection deletes the links through it.
    let u = user(
        &unique("fed-u"),
        &format!("{}@example.com", unique("fed")),
        NOW,
    );
    ok(store.insert_user(&u).await, "insert_user");
    ok(
        store
            .insert_user_identity(&identity(&a.id, "sub-1", &u.id, NOW))
            .await,
        "insert_user_identity",
    );
    assert!(ok(
        store.delete_connection(&a.id).await,
        "delete_connection"
    ));
    assert!(!ok(store.delete_connection(&a.id).await, "delete again"));
    assert_eq!(ok(store.get_connection(&a.id).await, "get"), None);
    assert_eq!(
        ok(
            store.get_user_identity(&a.id, "sub-1").await,
            "get_user_identity"
        ),
        None,
        "a deleted connection's links are gone"
    );
    assert!(
        ok(store.get_user(&u.id).await, "get_user").is_some(),
        "the person stays"
    );
    ok(store.delete_connection(&b.id).await, "delete_connection");
}

/// Links: one per (connection, subject), found by both, listed per person
/// in creation order, claims refreshed by a touch, and deleted with the
/// person.
pub async fn user_identities(store: Arc<dyn Store>) {
    let c1 = connection(&unique("idc1"), NOW);
    let c2 = connection(&unique("idc2"), NOW);
    ok(store.insert_connection(&c1).await, "insert_connection");
    ok(store.insert_connection(&c2).await, "insert_connection");
    let u = user(
        &unique("idu"),
        &format!("{}@example.com", unique("idu")),
        NOW,
    );
    let other = user(
        &unique("ido"),
        &format!("{}@example.com", unique("ido")),
        NOW,
    );
    ok(store.insert_user(&u).await, "insert_user");
    ok(store.insert_user(&other).await, "insert_user");

    let first = identity(&c1.id, "sub-A", &u.id, NOW - 5);
    let mut second = identity(&c2.id, "sub-A", &u.id, NOW - 1);
    second.claims = IdentityClaims::default();
    ok(
        store.insert_user_identity(&second).await,
        "insert_user_identity",
    );
    ok(
        store.insert_user_identity(&first).await,
        "insert_user_identity",
    );
    // The same subject on the same connection cannot name another person.
    conflict(
        store
            .insert_user_identity(&identity(&c1.id, "sub-A", &other.id, NOW))
            .await,
        "insert_user_identity for a linked subject",
    );
    assert_eq!(
        ok(
            store.get_user_identity(&c1.id, "sub-A").await,
            "get_user_identity"
        ),
        Some(first.clone()),
        "a link round-trips every field"
    );
    assert_eq!(
        ok(store.get_user_identity(&c2.id, "sub-A").await, "get"),
        Some(second.clone()),
        "the same subject on another connection is another link"
    );
    assert_eq!(
        ok(store.get_user_identity(&c1.id, "sub-a").await, "get"),
        None,
        "subjects compare exactly"
    );
    assert_eq!(
        ok(
            store.list_user_identities(&u.id).await,
            "list_user_identities"
        ),
        vec![first.clone(), second.clone()],
        "a person's links in creation order"
    );
    assert_eq!(
        ok(store.list_user_identities(&other.id).await, "list"),
        vec![]
    );

    let fresh = IdentityClaims {
        email: Some("new@example.com".into()),
        email_verified: false,
        name: None,
        groups: strings(&["eng"]),
    };
    assert!(ok(
        store
            .touch_user_identity(&c1.id, "sub-A", &fresh, NOW + 7)
            .await,
        "touch_user_identity"
    ));
    let touched = ok(store.get_user_identity(&c1.id, "sub-A").await, "get");
    assert_eq!(
        touched,
        Some(UserIdentity {
            claims: fresh.clone(),
            last_seen_at: NOW + 7,
            ..first.clone()
        }),
        "a touch stores the claims and the time, nothing else"
    );
    assert!(!ok(
        store
            .touch_user_identity(&c1.id, "nobody", &fresh, NOW)
            .await,
        "touch"
    ));

    assert!(ok(
        store.delete_user_identity(&c2.id, "sub-A").await,
        "delete"
    ));
    assert!(!ok(
        store.delete_user_identity(&c2.id, "sub-A").await,
        "again"
    ));
    assert_eq!(
        ok(store.get_user_identity(&c2.id, "sub-A").await, "get"),
        None
    );

    // Deleting the person deletes their links.
    assert!(ok(store.delete_user(&u.id).await, "delete_user"));
    assert_eq!(
        ok(store.get_user_identity(&c1.id, "sub-A").await, "get"),
        None,
        "a deleted person's links are gone"
    );
    ok(store.delete_connection(&c1.id).await, "delete_connection");
    ok(store.delete_connection(&c2.id).await, "delete_connection");
}
