//! Conformance: consents, access-token revocations, sessions, nonces.

use super::fixtures::bare_client;
use super::support::{NOW, RACERS, conflict, ok, race, strings, unique};
use crate::Store;
use authgate_core::model::*;
use serde_json::json;
use std::sync::Arc;

/// Consents: upsert replaces, per-user list order, delete.
pub async fn consents(store: Arc<dyn Store>) {
    let user = unique("u");
    let res = unique("res");
    let mut clients = vec![];
    for _ in 0..3 {
        let id = unique("cl");
        ok(
            store
                .insert_client(&bare_client(&id, ClientKind::Dynamic, NOW))
                .await,
            "insert_client",
        );
        clients.push(id);
    }
    let consent = |client: &str, resource: &str, created_at: i64| Consent {
        user_id: user.clone(),
        client_id: client.to_owned(),
        resource_id: resource.to_owned(),
        scopes: strings(&["weather:read", "openid"]),
        created_at,
        updated_at: created_at,
    };
    assert_eq!(
        ok(
            store.get_consent(&user, &clients[0], &res).await,
            "get_consent"
        ),
        None
    );
    let c0 = consent(&clients[0], &res, NOW - 10);
    let mut c1 = consent(&clients[1], &res, NOW - 30);
    c1.scopes = vec![];
    let c2 = consent(&clients[2], &res, NOW - 20);
    let c0_other_res = consent(&clients[0], &unique("res"), NOW - 5);
    for c in [&c0, &c1, &c2, &c0_other_res] {
        ok(store.upsert_consent(c).await, "upsert_consent");
    }
    assert_eq!(
        ok(
            store.get_consent(&user, &clients[0], &res).await,
            "get_consent"
        )
        .as_ref(),
        Some(&c0)
    );
    assert_eq!(
        ok(
            store.get_consent(&user, &clients[1], &res).await,
            "get_consent"
        )
        .as_ref(),
        Some(&c1),
        "consent with no scopes round-trips"
    );

    let mut c0b = c0.clone();
    c0b.scopes = strings(&["weather:write"]);
    c0b.updated_at = NOW;
    ok(store.upsert_consent(&c0b).await, "upsert_consent (replace)");
    assert_eq!(
        ok(
            store.get_consent(&user, &clients[0], &res).await,
            "get_consent"
        )
        .as_ref(),
        Some(&c0b),
        "upsert_consent replaces scopes and times"
    );

    assert_eq!(
        ok(
            store.list_consents_for_user(&user).await,
            "list_consents_for_user"
        ),
        vec![c1.clone(), c2.clone(), c0b.clone(), c0_other_res.clone()],
        "list_consents_for_user: one per (client, resource), ordered by created_at"
    );
    assert_eq!(
        ok(
            store.list_consents_for_user(&unique("u")).await,
            "list_consents_for_user"
        ),
        vec![]
    );

    assert!(ok(
        store.delete_consent(&user, &clients[1], &res).await,
        "delete_consent"
    ));
    assert!(!ok(
        store.delete_consent(&user, &clients[1], &res).await,
        "delete_consent"
    ));
    assert_eq!(
        ok(
            store.get_consent(&user, &clients[1], &res).await,
            "get_consent"
        ),
        None
    );
    assert_eq!(
        ok(
            store.list_consents_for_user(&user).await,
            "list_consents_for_user"
        )
        .len(),
        3
    );
}

/// Access-token revocations: record, check, purge.
pub async fn access_token_revocations(store: Arc<dyn Store>) {
    let jti = unique("jti");
    assert!(!ok(
        store.is_access_token_revoked(&jti).await,
        "is_access_token_revoked"
    ));
    ok(
        store.revoke_access_token(&jti, NOW + 3600).await,
        "revoke_access_token",
    );
    assert!(ok(
        store.is_access_token_revoked(&jti).await,
        "is_access_token_revoked"
    ));
    ok(
        store.revoke_access_token(&jti, NOW + 3600).await,
        "revoke_access_token twice is not an error",
    );
    assert!(ok(
        store.is_access_token_revoked(&jti).await,
        "is_access_token_revoked"
    ));

    let cutoff = NOW - 500_000;
    ok(
        store.purge_access_token_revocations(cutoff).await,
        "purge_access_token_revocations",
    );
    let old = unique("jti");
    let fresh = unique("jti");
    ok(
        store.revoke_access_token(&old, cutoff - 1).await,
        "revoke_access_token",
    );
    ok(
        store.revoke_access_token(&fresh, cutoff + 1).await,
        "revoke_access_token",
    );
    assert_eq!(
        ok(
            store.purge_access_token_revocations(cutoff).await,
            "purge_access_token_revocations"
        ),
        1
    );
    assert!(!ok(
        store.is_access_token_revoked(&old).await,
        "is_access_token_revoked"
    ));
    assert!(ok(
        store.is_access_token_revoked(&fresh).await,
        "is_access_token_revoked"
    ));
    assert!(ok(
        store.is_access_token_revoked(&jti).await,
        "is_access_token_revoked"
    ));
}

fn session(id_hash: &str, expires_at: i64) -> Session {
    Session {
        id_hash: id_hash.to_owned(),
        user_id: Some(unique("u")),
        csrf_token: unique("csrf"),
        auth_time: Some(NOW - 50),
        created_at: NOW - 60,
        expires_at,
        data: json!({
            "pending_authorize": {
                "client_id": "abc",
                "scopes": ["a", "b"],
                "resource": ["https://mcp.example.com/x"],
                "n": 3,
                "f": 0.25,
                "ok": true,
                "none": null,
                "text": "quote \" backslash \\ unicode ✓"
            }
        }),
    }
}

/// Sessions: round trip, expiry, update, delete, purge.
pub async fn sessions(store: Arc<dyn Store>) {
    let s1 = session(&unique("sid"), NOW + 3600);
    let mut s2 = session(&unique("sid"), NOW + 3600);
    s2.user_id = None;
    s2.auth_time = None;
    s2.data = json!({});
    let mut s3 = session(&unique("sid"), NOW + 3600);
    s3.data = serde_json::Value::Null;
    for s in [&s1, &s2, &s3] {
        ok(store.insert_session(s).await, "insert_session");
    }
    conflict(
        store.insert_session(&s1).await,
        "insert_session with an existing id hash",
    );
    assert_eq!(
        ok(store.get_session(&s1.id_hash, NOW).await, "get_session").as_ref(),
        Some(&s1)
    );
    assert_eq!(
        ok(store.get_session(&s2.id_hash, NOW).await, "get_session").as_ref(),
        Some(&s2),
        "anonymous session round-trips"
    );
    assert_eq!(
        ok(store.get_session(&s3.id_hash, NOW).await, "get_session").as_ref(),
        Some(&s3),
        "null data round-trips"
    );
    assert_eq!(
        ok(store.get_session(&unique("sid"), NOW).await, "get_session"),
        None
    );
    assert_eq!(
        ok(
            store.get_session(&s1.id_hash, s1.expires_at - 1).await,
            "get_session"
        )
        .as_ref(),
        Some(&s1),
        "a session is live before expires_at"
    );
    assert_eq!(
        ok(
            store.get_session(&s1.id_hash, s1.expires_at + 1).await,
            "get_session"
        ),
        None,
        "get_session must not return an expired session"
    );

    let mut s2b = s2.clone();
    s2b.user_id = Some(unique("u"));
    s2b.auth_time = Some(NOW);
    s2b.csrf_token = unique("csrf");
    s2b.expires_at = NOW + 7200;
    s2b.data = json!({"signed_in": true});
    assert!(ok(store.update_session(&s2b).await, "update_session"));
    assert_eq!(
        ok(
            store.get_session(&s2.id_hash, NOW + 5000).await,
            "get_session"
        )
        .as_ref(),
        Some(&s2b),
        "update_session replaces user, csrf, auth_time, expiry and data"
    );
    assert!(
        !ok(
            store
                .update_session(&session(&unique("sid"), NOW + 10))
                .await,
            "update_session"
        ),
        "update_session of an unknown session returns false"
    );

    assert!(ok(
        store.delete_session(&s3.id_hash).await,
        "delete_session"
    ));
    assert!(!ok(
        store.delete_session(&s3.id_hash).await,
        "delete_session"
    ));
    assert_eq!(
        ok(store.get_session(&s3.id_hash, NOW).await, "get_session"),
        None
    );

    let cutoff = NOW - 500_000;
    ok(store.purge_sessions(cutoff).await, "purge_sessions");
    let old = session(&unique("sid"), cutoff - 1);
    let fresh = session(&unique("sid"), cutoff + 1);
    ok(store.insert_session(&old).await, "insert_session");
    ok(store.insert_session(&fresh).await, "insert_session");
    assert_eq!(ok(store.purge_sessions(cutoff).await, "purge_sessions"), 1);
    assert_eq!(
        ok(
            store.get_session(&old.id_hash, cutoff - 10).await,
            "get_session"
        ),
        None,
        "a purged session is gone"
    );
    assert_eq!(
        ok(
            store.get_session(&fresh.id_hash, cutoff).await,
            "get_session"
        )
        .as_ref(),
        Some(&fresh)
    );
    assert_eq!(
        ok(store.get_session(&s1.id_hash, NOW).await, "get_session").as_ref(),
        Some(&s1),
        "purge_sessions keeps live sessions"
    );

    // delete_sessions_for_user: all of one person's sessions, nobody else's.
    let person = unique("u");
    let mut mine = Vec::new();
    for _ in 0..2 {
        let mut s = session(&unique("sid"), NOW + 3600);
        s.user_id = Some(person.clone());
        ok(store.insert_session(&s).await, "insert_session");
        mine.push(s);
    }
    let other = session(&unique("sid"), NOW + 3600);
    let mut anonymous = session(&unique("sid"), NOW + 3600);
    anonymous.user_id = None;
    for s in [&other, &anonymous] {
        ok(store.insert_session(s).await, "insert_session");
    }
    assert_eq!(
        ok(
            store.delete_sessions_for_user(&person).await,
            "delete_sessions_for_user"
        ),
        2
    );
    for s in &mine {
        assert_eq!(
            ok(store.get_session(&s.id_hash, NOW).await, "get_session"),
            None,
            "delete_sessions_for_user deletes the person's sessions"
        );
    }
    for s in [&other, &anonymous] {
        assert_eq!(
            ok(store.get_session(&s.id_hash, NOW).await, "get_session").as_ref(),
            Some(s),
            "delete_sessions_for_user leaves other sessions alone"
        );
    }
}

/// Nonces: single use until expiry, reusable after, single winner under a race.
pub async fn nonces(store: Arc<dyn Store>) {
    let key = unique("nonce");
    assert!(
        ok(store.use_nonce(&key, NOW + 60, NOW).await, "use_nonce"),
        "first use is recorded"
    );
    assert!(
        !ok(store.use_nonce(&key, NOW + 60, NOW).await, "use_nonce"),
        "second use is refused"
    );
    assert!(
        !ok(store.use_nonce(&key, NOW + 90, NOW + 30).await, "use_nonce"),
        "use before expiry is refused"
    );
    assert!(
        ok(
            store.use_nonce(&key, NOW + 200, NOW + 61).await,
            "use_nonce"
        ),
        "an expired nonce can be used again"
    );
    assert!(
        !ok(
            store.use_nonce(&key, NOW + 300, NOW + 100).await,
            "use_nonce"
        ),
        "the re-recorded nonce holds until its new expiry"
    );
    assert!(
        ok(
            store.use_nonce(&unique("nonce"), NOW + 60, NOW).await,
            "use_nonce"
        ),
        "nonces are independent"
    );

    let raced = unique("nonce");
    let results = race(|_| {
        let store = store.clone();
        let key = raced.clone();
        async move { store.use_nonce(&key, NOW + 60, NOW).await }
    })
    .await;
    let fresh = results
        .into_iter()
        .map(|r| ok(r, "use_nonce (racing)"))
        .filter(|fresh| *fresh)
        .count();
    assert_eq!(
        fresh, 1,
        "{RACERS} concurrent use_nonce of one key: exactly one true"
    );
}
