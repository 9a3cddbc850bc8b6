//! Conformance: passkeys — a credential id belongs to one passkey, a
//! person's list is theirs alone, updates and removals are scoped to the
//! person, and deleting the person removes their passkeys.

use super::fixtures::user;
use super::support::{NOW, ok, unique};
use crate::{Store, StoreError};
use authgate_core::model::PasskeyRecord;
use serde_json::json;
use std::sync::Arc;

fn passkey(id: &str, user_id: &str, cred: &str, at: i64) -> PasskeyRecord {
    PasskeyRecord {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        credential_id: cred.to_owned(),
        name: format!("key {id}"),
        credential: json!({"cred": {"counter": 0, "id": cred}}),
        created_at: at,
        last_used_at: None,
    }
}

pub async fn passkeys(store: Arc<dyn Store>) {
    let (ua, ub) = (unique("pk-user-a"), unique("pk-user-b"));
    ok(
        store
            .insert_user(&user(&ua, &format!("{ua}@example.com"), NOW))
            .await,
        "insert_user",
    );
    let (c1, c2, c3) = (unique("cred1"), unique("cred2"), unique("cred3"));
    let (p1, p2, p3) = (unique("pk1"), unique("pk2"), unique("pk3"));
    let a1 = passkey(&p1, &ua, &c1, NOW - 10);
    let a2 = passkey(&p2, &ua, &c2, NOW - 5);
    let b1 = passkey(&p3, &ub, &c3, NOW - 1);
    for p in [&a2, &a1, &b1] {
        ok(store.insert_passkey(p).await, "insert_passkey");
    }
    // The same credential id twice (even for another person): a conflict.
    let dup = passkey(&unique("pk-dup"), &ub, &c1, NOW);
    assert!(
        matches!(
            store.insert_passkey(&dup).await,
            Err(StoreError::Conflict(_))
        ),
        "a credential id is registered once"
    );

    let list = ok(store.list_passkeys_for_user(&ua).await, "list");
    assert_eq!(
        list,
        vec![a1.clone(), a2.clone()],
        "oldest first, every field intact"
    );
    let got = ok(store.get_passkey_by_credential_id(&c3).await, "get");
    assert_eq!(got, Some(b1.clone()));
    assert_eq!(
        ok(
            store.get_passkey_by_credential_id(&unique("none")).await,
            "get"
        ),
        None
    );

    let mut renamed = a1.clone();
    renamed.name = "Laptop".into();
    renamed.credential = json!({"cred": {"counter": 7}});
    renamed.last_used_at = Some(NOW);
    assert!(ok(store.update_passkey(&renamed).await, "update"));
    assert_eq!(
        ok(store.get_passkey_by_credential_id(&c1).await, "get"),
        Some(renamed.clone())
    );
    // Another person cannot update or remove it.
    let mut stolen = renamed.clone();
    stolen.user_id = ub.clone();
    assert!(!ok(store.update_passkey(&stolen).await, "update other"));
    assert!(!ok(store.delete_passkey(&ub, &p1).await, "delete other"));

    assert!(ok(store.delete_passkey(&ua, &p2).await, "delete"));
    assert!(!ok(store.delete_passkey(&ua, &p2).await, "delete twice"));
    assert_eq!(ok(store.list_passkeys_for_user(&ua).await, "list").len(), 1);

    // Deleting the person removes their passkeys.
    assert!(ok(store.delete_user(&ua).await, "delete_user"));
    assert_eq!(
        ok(store.get_passkey_by_credential_id(&c1).await, "get"),
        None
    );
    assert!(ok(store.delete_passkey(&ub, &p3).await, "cleanup"));
}
