//! Conformance: the people list's paged query, and deleting a person with
//! everything that acts as them.

use super::fixtures::{bare_client, grant, refresh, user};
use super::support::{NOW, ok, strings, unique};
use crate::{Store, UserQuery};
use authgate_core::model::*;
use serde_json::json;
use std::sync::Arc;

/// The ids of a page, and the total.
async fn ids(store: &dyn Store, q: UserQuery) -> (Vec<String>, u64) {
    let (items, total) = ok(store.list_users_page(&q).await, "list_users_page");
    (items.into_iter().map(|u| u.id).collect(), total)
}

/// `list_users_page`: text matches email or name case-insensitively (a
/// `%` or `_` in it is literal), role and status filter, creation order,
/// offset and limit, and the total of all matches.
pub async fn users_paged(store: Arc<dyn Store>) {
    let run = unique("pg");
    let id = |n: &str| format!("{run}-{n}");
    let mut a = user(&id("a"), &format!("{run}-a@example.com"), NOW - 40);
    a.name = Some(format!("Grace {run} Hopper"));
    let mut b = user(&id("b"), &format!("{run}-b@example.com"), NOW - 30);
    b.role = Role::Auditor;
    b.name = None;
    let mut c = user(&id("c"), &format!("{run}-c@example.com"), NOW - 20);
    c.role = Role::User;
    c.disabled = true;
    let mut d = user(&id("d"), &format!("{run}-d@example.com"), NOW - 10);
    d.role = Role::User;
    for u in [&d, &c, &b, &a] {
        ok(store.insert_user(u).await, "insert_user");
    }
    let q = |text: &str| UserQuery {
        text: Some(text.to_owned()),
        limit: 10,
        ..Default::default()
    };
    let all: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| id(n)).collect();
    assert_eq!(
        ids(store.as_ref(), q(&run)).await,
        (all.clone(), 4),
        "every match, oldest first"
    );
    assert_eq!(
        ids(store.as_ref(), q(&run.to_uppercase())).await,
        (all.clone(), 4),
        "text matches case-insensitively"
    );
    assert_eq!(
        ids(store.as_ref(), q(&format!("grace {run}"))).await,
        (vec![id("a")], 1),
        "text matches the name"
    );
    assert_eq!(
        ids(store.as_ref(), q(&format!("{run}-c@"))).await,
        (vec![id("c")], 1),
        "text matches the email"
    );
    assert_eq!(
        ids(store.as_ref(), q(&format!("{run}%"))).await,
        (vec![], 0),
        "% is literal"
    );
    assert_eq!(
        ids(store.as_ref(), q(&format!("{run}_a"))).await,
        (vec![], 0),
        "_ is literal"
    );
    let page = UserQuery {
        offset: 1,
        limit: 2,
        ..q(&run)
    };
    assert_eq!(
        ids(store.as_ref(), page).await,
        (vec![id("b"), id("c")], 4),
        "offset and limit; the total counts every match"
    );
    let role = |r| UserQuery {
        role: Some(r),
        ..q(&run)
    };
    assert_eq!(ids(store.as_ref(), role(Role::Admin)).await.0, [id("a")]);
    assert_eq!(ids(store.as_ref(), role(Role::Auditor)).await.0, [id("b")]);
    assert_eq!(
        ids(store.as_ref(), role(Role::User)).await.0,
        [id("c"), id("d")]
    );
    let status = |disabled| UserQuery {
        disabled: Some(disabled),
        ..q(&run)
    };
    assert_eq!(ids(store.as_ref(), status(true)).await.0, [id("c")]);
    assert_eq!(
        ids(store.as_ref(), status(false)).await.0,
        [id("a"), id("b"), id("d")]
    );
    let both = UserQuery {
        role: Some(Role::User),
        disabled: Some(false),
        ..q(&run)
    };
    assert_eq!(ids(store.as_ref(), both).await, (vec![id("d")], 1));
    let unfiltered = UserQuery {
        limit: 100_000,
        ..Default::default()
    };
    let (everyone, total) = ids(store.as_ref(), unfiltered).await;
    assert!(
        all.iter().all(|i| everyone.contains(i)) && total >= 4,
        "no text: everyone"
    );
}

/// `delete_user` removes the person, their sessions, consents and grants
/// with refresh tokens; another person's stay.
pub async fn user_deletion(store: Arc<dyn Store>) {
    let run = unique("del");
    let gone = user(
        &format!("{run}-gone"),
        &format!("{run}-gone@example.com"),
        NOW,
    );
    let kept = user(
        &format!("{run}-kept"),
        &format!("{run}-kept@example.com"),
        NOW,
    );
    let client = unique("cl");
    ok(
        store
            .insert_client(&bare_client(&client, ClientKind::Dynamic, NOW))
            .await,
        "insert_client",
    );
    let res = unique("res");
    let mut hashes = vec![];
    for u in [&gone, &kept] {
        ok(store.insert_user(u).await, "insert_user");
        let g = grant(&unique("g"), &client, Some(&u.id), &res, NOW - 5);
        ok(store.insert_grant(&g).await, "insert_grant");
        let h = unique("rt");
        ok(
            store.insert_refresh_token(&refresh(&h, &g, NOW - 5)).await,
            "insert_refresh_token",
        );
        ok(
            store
                .upsert_consent(&Consent {
                    user_id: u.id.clone(),
                    client_id: client.clone(),
                    resource_id: res.clone(),
                    scopes: strings(&["weather:read"]),
                    created_at: NOW,
                    updated_at: NOW,
                })
                .await,
            "upsert_consent",
        );
        let sid = unique("sid");
        ok(
            store
                .insert_session(&Session {
                    id_hash: sid.clone(),
                    user_id: Some(u.id.clone()),
                    csrf_token: unique("csrf"),
                    auth_time: Some(NOW),
                    created_at: NOW,
                    expires_at: NOW + 3600,
                    data: json!({}),
                })
                .await,
            "insert_session",
        );
        hashes.push((g.id, h, sid));
    }
    assert!(ok(store.delete_user(&gone.id).await, "delete_user"));
    assert!(
        !ok(store.delete_user(&gone.id).await, "delete_user"),
        "deleting again: false"
    );
    assert_eq!(ok(store.get_user(&gone.id).await, "get_user"), None);
    let (g, h, sid) = &hashes[0];
    assert_eq!(ok(store.get_grant(g).await, "get_grant"), None);
    assert!(
        ok(store.get_refresh_token(h).await, "get_refresh_token")
            .is_none_or(|t| t.revoked_at.is_some()),
        "the deleted person's refresh token is gone or revoked"
    );
    assert_eq!(ok(store.get_session(sid, NOW).await, "get_session"), None);
    assert!(
        ok(
            store.list_consents_for_user(&gone.id).await,
            "list_consents_for_user"
        )
        .is_empty()
    );
    assert!(
        ok(
            store.list_grants_for_user(&gone.id).await,
            "list_grants_for_user"
        )
        .is_empty()
    );
    let (g, h, sid) = &hashes[1];
    assert!(ok(store.get_user(&kept.id).await, "get_user").is_some());
    assert!(ok(store.get_grant(g).await, "get_grant").is_some());
    assert!(ok(store.get_refresh_token(h).await, "get_refresh_token").is_some());
    assert!(ok(store.get_session(sid, NOW).await, "get_session").is_some());
    assert_eq!(
        ok(
            store.list_consents_for_user(&kept.id).await,
            "list_consents_for_user"
        )
        .len(),
        1
    );
}
