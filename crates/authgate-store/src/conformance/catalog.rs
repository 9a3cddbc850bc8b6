//! Conformance: resources, clients, users, signing keys.

use super::fixtures::{bare_client, full_client, grant, refresh, resource, user};
use super::support::{NOW, RACERS, conflict, ok, only_ours, strings, unique};
use crate::Store;
use authgate_core::model::*;
use serde_json::json;
use std::sync::Arc;

/// Resources: round trip, upsert replaces, list order, delete.
pub async fn resources(store: Arc<dyn Store>) {
    let run = unique("res");
    let (a, b, c) = (format!("{run}-a"), format!("{run}-b"), format!("{run}-c"));
    assert_eq!(
        ok(store.get_resource(&a).await, "get_resource"),
        None,
        "get_resource of an unknown id"
    );

    let ra = resource(&a, NOW - 10);
    let mut rb = resource(&b, NOW - 20);
    rb.scopes = vec![];
    rb.default_scopes = vec![];
    rb.documentation_uri = None;
    rb.logo_uri = None;
    rb.allow_dynamic_registration = false;
    rb.allow_client_id_metadata_documents = true;
    rb.allow_dynamic_client_credentials = true;
    // Every sign-up rule round-trips (`full` has `closed`).
    rb.signup = SignupPolicy::Open;
    let rc = resource(&c, NOW - 20);
    for r in [&ra, &rb, &rc] {
        ok(store.upsert_resource(r).await, "upsert_resource");
    }
    assert_eq!(
        ok(store.get_resource(&a).await, "get_resource").as_ref(),
        Some(&ra)
    );
    assert_eq!(
        ok(store.get_resource(&b).await, "get_resource").as_ref(),
        Some(&rb),
        "resource with empty lists and no documentation_uri must round-trip"
    );

    // Upsert replaces every field.
    let mut ra2 = ra.clone();
    ra2.name = "Renamed".into();
    ra2.uri = "https://other.example.com/mcp".into();
    ra2.documentation_uri = None;
    ra2.scopes.truncate(1);
    ra2.default_scopes = vec![];
    ra2.access_token_ttl_secs = 60;
    ra2.refresh_token_idle_ttl_secs = 61;
    ra2.refresh_token_absolute_ttl_secs = 62;
    ra2.allow_dynamic_registration = false;
    ra2.allow_client_id_metadata_documents = true;
    ra2.updated_at = NOW;
    ok(
        store.upsert_resource(&ra2).await,
        "upsert_resource (replace)",
    );
    assert_eq!(
        ok(store.get_resource(&a).await, "get_resource").as_ref(),
        Some(&ra2),
        "upsert_resource must replace every field"
    );

    let listed = only_ours(
        ok(store.list_resources().await, "list_resources"),
        &[&a, &b, &c],
        |r| &r.id,
    );
    assert_eq!(
        listed,
        vec![rb.clone(), rc.clone(), ra2.clone()],
        "list_resources: ordered by created_at then id, one row per id"
    );

    assert!(ok(store.delete_resource(&a).await, "delete_resource"));
    assert!(
        !ok(store.delete_resource(&a).await, "delete_resource"),
        "delete_resource of a deleted id must return false"
    );
    assert_eq!(ok(store.get_resource(&a).await, "get_resource"), None);
    assert!(ok(store.get_resource(&b).await, "get_resource").is_some());
}

/// Clients: round trip, conflicts, update, touch, fingerprint, counts,
/// list order, delete, reaping.
pub async fn clients(store: Arc<dyn Store>) {
    let run = unique("cl");
    let (a, b, c) = (format!("{run}-a"), format!("{run}-b"), format!("{run}-c"));
    assert_eq!(ok(store.get_client(&a).await, "get_client"), None);

    let before_pre = ok(
        store.count_clients(ClientKind::PreRegistered).await,
        "count_clients",
    );
    let before_dyn = ok(
        store.count_clients(ClientKind::Dynamic).await,
        "count_clients",
    );
    let before_md = ok(
        store.count_clients(ClientKind::MetadataDocument).await,
        "count_clients",
    );

    let ca = full_client(&a, ClientKind::Dynamic, NOW - 10);
    let cb = bare_client(&b, ClientKind::PreRegistered, NOW - 20);
    let mut cc = bare_client(&c, ClientKind::MetadataDocument, NOW - 20);
    cc.allowed_scopes = Some(vec![]);
    for cl in [&ca, &cb, &cc] {
        ok(store.insert_client(cl).await, "insert_client");
    }
    assert_eq!(
        ok(store.get_client(&a).await, "get_client").as_ref(),
        Some(&ca)
    );
    assert_eq!(
        ok(store.get_client(&b).await, "get_client").as_ref(),
        Some(&cb),
        "client with every option unset must round-trip"
    );
    assert_eq!(
        ok(store.get_client(&c).await, "get_client").as_ref(),
        Some(&cc),
        "allowed_scopes Some(empty) must stay distinct from None"
    );

    conflict(
        store
            .insert_client(&bare_client(&a, ClientKind::Dynamic, NOW))
            .await,
        "insert_client with an existing client_id",
    );

    assert_eq!(
        ok(
            store.count_clients(ClientKind::PreRegistered).await,
            "count_clients"
        ),
        before_pre + 1
    );
    assert_eq!(
        ok(
            store.count_clients(ClientKind::Dynamic).await,
            "count_clients"
        ),
        before_dyn + 1
    );
    assert_eq!(
        ok(
            store.count_clients(ClientKind::MetadataDocument).await,
            "count_clients"
        ),
        before_md + 1
    );

    // update_client replaces every field.
    let mut cb2 = full_client(&b, ClientKind::PreRegistered, NOW - 20);
    cb2.metadata.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
    cb2.metadata.jwks = None;
    assert!(ok(store.update_client(&cb2).await, "update_client"));
    assert_eq!(
        ok(store.get_client(&b).await, "get_client").as_ref(),
        Some(&cb2)
    );
    let mut ca2 = bare_client(&a, ClientKind::Dynamic, NOW - 10);
    ca2.metadata.redirect_uris = strings(&["https://x.example/cb"]);
    assert!(ok(store.update_client(&ca2).await, "update_client"));
    assert_eq!(
        ok(store.get_client(&a).await, "get_client").as_ref(),
        Some(&ca2),
        "update_client must clear options set before"
    );
    assert!(
        !ok(
            store
                .update_client(&bare_client(
                    &format!("{run}-missing"),
                    ClientKind::Dynamic,
                    NOW
                ))
                .await,
            "update_client"
        ),
        "update_client of an unknown client must return false"
    );
    assert_eq!(
        ok(
            store.get_client(&format!("{run}-missing")).await,
            "get_client"
        ),
        None,
        "update_client must not insert"
    );

    // touch_client
    ok(store.touch_client(&a, NOW + 7).await, "touch_client");
    let touched = ok(store.get_client(&a).await, "get_client");
    assert_eq!(touched.and_then(|c| c.last_used_at), Some(NOW + 7));
    ok(
        store.touch_client(&format!("{run}-missing"), NOW).await,
        "touch_client of an unknown client is not an error",
    );

    // Fingerprints: only dynamic clients are found.
    let fp = unique("fp");
    let mut dyn_fp = bare_client(&format!("{run}-d"), ClientKind::Dynamic, NOW - 5);
    dyn_fp.registration_fingerprint = Some(fp.clone());
    ok(store.insert_client(&dyn_fp).await, "insert_client");
    let found = ok(
        store.find_client_by_fingerprint(&fp).await,
        "find_client_by_fingerprint",
    );
    assert_eq!(found.as_ref(), Some(&dyn_fp));
    assert_eq!(
        ok(
            store.find_client_by_fingerprint(&unique("fp")).await,
            "find_client_by_fingerprint"
        ),
        None
    );
    let pre_fp = unique("fp");
    let mut pre = bare_client(&format!("{run}-e"), ClientKind::PreRegistered, NOW - 5);
    pre.registration_fingerprint = Some(pre_fp.clone());
    ok(store.insert_client(&pre).await, "insert_client");
    assert_eq!(
        ok(
            store.find_client_by_fingerprint(&pre_fp).await,
            "find_client_by_fingerprint"
        ),
        None,
        "find_client_by_fingerprint only finds dynamic clients"
    );

    let ids = [a.as_str(), b.as_str(), c.as_str()];
    let listed: Vec<String> =
        only_ours(ok(store.list_clients().await, "list_clients"), &ids, |c| {
            &c.client_id
        })
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(
        listed,
        vec![b.clone(), c.clone(), a.clone()],
        "list_clients: ordered by created_at then client_id"
    );

    assert!(ok(store.delete_client(&c).await, "delete_client"));
    assert!(!ok(store.delete_client(&c).await, "delete_client"));
    assert_eq!(ok(store.get_client(&c).await, "get_client"), None);

    reap(&store, &run).await;
}

async fn reap(store: &Arc<dyn Store>, run: &str) {
    let cutoff = NOW - 50_000;
    let old = NOW - 100_000;
    // Clear leftovers of interrupted earlier runs so the count below is exact.
    ok(
        store.reap_dynamic_clients(cutoff).await,
        "reap_dynamic_clients",
    );

    let never_used = bare_client(&format!("{run}-r1"), ClientKind::Dynamic, old);
    let mut used_long_ago = bare_client(&format!("{run}-r2"), ClientKind::Dynamic, old);
    used_long_ago.last_used_at = Some(old + 10);
    let mut used_recently = bare_client(&format!("{run}-r3"), ClientKind::Dynamic, old);
    used_recently.last_used_at = Some(NOW - 10);
    let created_recently = bare_client(&format!("{run}-r4"), ClientKind::Dynamic, NOW - 10);
    let pre_old = bare_client(&format!("{run}-r5"), ClientKind::PreRegistered, old);
    let md_old = bare_client(&format!("{run}-r6"), ClientKind::MetadataDocument, old);
    let mut md_blocked = bare_client(&format!("{run}-r7"), ClientKind::MetadataDocument, old);
    md_blocked.blocked = true;
    let mut md_recent = bare_client(&format!("{run}-r8"), ClientKind::MetadataDocument, old);
    md_recent.last_used_at = Some(NOW - 10);
    for c in [
        &never_used,
        &used_long_ago,
        &used_recently,
        &created_recently,
        &pre_old,
        &md_old,
        &md_blocked,
        &md_recent,
    ] {
        ok(store.insert_client(c).await, "insert_client");
    }
    // A reaped client may have a grant, tokens and a consent: reaping still works.
    let u = unique("u");
    let g = grant(&unique("g"), &never_used.client_id, Some(&u), "res", old);
    ok(store.insert_grant(&g).await, "insert_grant");
    let t = refresh(&unique("rt"), &g, old);
    ok(store.insert_refresh_token(&t).await, "insert_refresh_token");
    let consent = Consent {
        user_id: u.clone(),
        client_id: never_used.client_id.clone(),
        resource_id: "res".into(),
        scopes: strings(&["a"]),
        created_at: old,
        updated_at: old,
    };
    ok(store.upsert_consent(&consent).await, "upsert_consent");

    let reaped = ok(
        store.reap_dynamic_clients(cutoff).await,
        "reap_dynamic_clients",
    );
    assert_eq!(
        reaped, 2,
        "reap_dynamic_clients removes dynamic clients unused since the cut-off, and only those"
    );
    for (c, kept) in [
        (&never_used, false),
        (&used_long_ago, false),
        (&used_recently, true),
        (&created_recently, true),
        (&pre_old, true),
        (&md_old, true),
        (&md_blocked, true),
        (&md_recent, true),
    ] {
        let got = ok(store.get_client(&c.client_id).await, "get_client");
        assert_eq!(
            got.is_some(),
            kept,
            "after reap_dynamic_clients: {} (kind {:?}, created {}, last used {:?}) kept={}",
            c.client_id,
            c.kind,
            c.created_at,
            c.last_used_at,
            got.is_some()
        );
    }

    // Metadata document clients: unused ones go, blocked and used ones stay,
    // other kinds are untouched.
    let reaped = ok(
        store.reap_metadata_document_clients(cutoff).await,
        "reap_metadata_document_clients",
    );
    assert!(
        reaped >= 1,
        "reap_metadata_document_clients removes unused metadata document clients"
    );
    for (c, kept) in [
        (&md_old, false),
        (&md_blocked, true),
        (&md_recent, true),
        (&pre_old, true),
        (&used_recently, true),
    ] {
        let got = ok(store.get_client(&c.client_id).await, "get_client");
        assert_eq!(
            got.is_some(),
            kept,
            "after reap_metadata_document_clients: {} (kind {:?}, blocked {}) kept={}",
            c.client_id,
            c.kind,
            c.blocked,
            got.is_some()
        );
    }
}

/// Users: round trip, conflicts on id and on email case-insensitively,
/// lookup by email, update, list order.
pub async fn users(store: Arc<dyn Store>) {
    let run = unique("usr");
    let (a, b, c) = (format!("{run}-a"), format!("{run}-b"), format!("{run}-c"));
    let ea = format!("{run}-a@example.com");
    let ua = user(&a, &ea, NOW - 10);
    let mut ub = user(&b, &format!("{run}-b@example.com"), NOW - 20);
    ub.name = None;
    ub.disabled = true;
    ub.role = Role::User;
    ub.email_verified = true;
    // A self-made account keeps its mark.
    ub.signed_up = true;
    let uc = user(&c, &format!("{run}-c@example.com"), NOW - 20);
    for u in [&ua, &ub, &uc] {
        ok(store.insert_user(u).await, "insert_user");
    }
    assert_eq!(ok(store.get_user(&a).await, "get_user").as_ref(), Some(&ua));
    assert_eq!(ok(store.get_user(&b).await, "get_user").as_ref(), Some(&ub));
    assert_eq!(
        ok(store.get_user(&format!("{run}-x")).await, "get_user"),
        None
    );

    conflict(
        store
            .insert_user(&user(&a, &format!("{run}-other@example.com"), NOW))
            .await,
        "insert_user with an existing id",
    );
    conflict(
        store
            .insert_user(&user(&format!("{run}-d"), &ea.to_uppercase(), NOW))
            .await,
        "insert_user with an existing email in other case",
    );
    assert_eq!(
        ok(store.get_user(&format!("{run}-d")).await, "get_user"),
        None
    );

    assert_eq!(
        ok(store.get_user_by_email(&ea).await, "get_user_by_email").as_ref(),
        Some(&ua)
    );
    assert_eq!(
        ok(
            store.get_user_by_email(&ea.to_uppercase()).await,
            "get_user_by_email"
        )
        .as_ref(),
        Some(&ua),
        "get_user_by_email compares lowercased"
    );
    assert_eq!(
        ok(
            store
                .get_user_by_email(&format!("{run}-nobody@example.com"))
                .await,
            "get_user_by_email"
        ),
        None
    );

    // update_user replaces fields, email included.
    let new_email = format!("{run}-a2@example.com");
    let mut ua2 = ua.clone();
    ua2.email = new_email.clone();
    ua2.name = None;
    ua2.password_hash = "$argon2id$new".into();
    ua2.disabled = true;
    ua2.role = Role::Auditor;
    ua2.email_verified = true;
    ua2.signed_up = true;
    assert!(ok(store.update_user(&ua2).await, "update_user"));
    assert_eq!(
        ok(store.get_user(&a).await, "get_user").as_ref(),
        Some(&ua2)
    );
    assert_eq!(
        ok(
            store.get_user_by_email(&new_email).await,
            "get_user_by_email"
        )
        .as_ref(),
        Some(&ua2)
    );
    assert_eq!(
        ok(store.get_user_by_email(&ea).await, "get_user_by_email"),
        None,
        "the old email no longer finds the user"
    );
    let mut clash = ub.clone();
    clash.email = new_email.to_uppercase();
    conflict(
        store.update_user(&clash).await,
        "update_user to another user's email",
    );
    assert!(
        !ok(
            store
                .update_user(&user(
                    &format!("{run}-x"),
                    &format!("{run}-x@example.com"),
                    NOW
                ))
                .await,
            "update_user"
        ),
        "update_user of an unknown user must return false"
    );

    let listed: Vec<String> = only_ours(
        ok(store.list_users().await, "list_users"),
        &[&a, &b, &c],
        |u| &u.id,
    )
    .into_iter()
    .map(|u| u.id)
    .collect();
    assert_eq!(
        listed,
        vec![b, c, a],
        "list_users: ordered by created_at then id"
    );
}

/// Signing keys: round trip of bytes and JSON, order, retirement, delete.
pub async fn signing_keys(store: Arc<dyn Store>) {
    let run = unique("kid");
    let (k1, k2, k3) = (format!("{run}-1"), format!("{run}-2"), format!("{run}-3"));
    let key = |kid: &str, alg: SigningAlg, created_at: i64| SigningKeyRecord {
        kid: kid.to_owned(),
        alg,
        private_key_sealed: vec![0, 1, 2, 0xff, 0xfe, 0x80, 0, 42],
        public_jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": "AAAA", "use": "sig", "n": 1.5}),
        created_at,
        retired_at: None,
        remove_after: None,
    };
    let a = key(&k1, SigningAlg::ES256, NOW - 30);
    let b = key(&k2, SigningAlg::RS256, NOW - 20);
    let mut c = key(&k3, SigningAlg::EdDSA, NOW - 40);
    c.retired_at = Some(NOW - 35);
    c.remove_after = Some(NOW - 5);
    c.private_key_sealed = vec![];
    for k in [&a, &b, &c] {
        ok(store.insert_signing_key(k).await, "insert_signing_key");
    }
    conflict(
        store.insert_signing_key(&a).await,
        "insert_signing_key with an existing kid",
    );
    let late = key(&format!("{run}-late"), SigningAlg::ES256, NOW);
    assert!(
        !ok(
            store.insert_first_signing_key(&late).await,
            "insert_first_signing_key"
        ),
        "insert_first_signing_key inserts nothing when keys exist"
    );
    let ours = |v: Vec<SigningKeyRecord>| only_ours(v, &[&k1, &k2, &k3], |k| &k.kid);
    assert_eq!(
        ours(ok(store.list_signing_keys().await, "list_signing_keys")),
        vec![c.clone(), a.clone(), b.clone()],
        "list_signing_keys: every key, oldest first, every field intact"
    );

    ok(
        store.retire_signing_keys_except(&k2, NOW, NOW + 3600).await,
        "retire_signing_keys_except",
    );
    let mut a_retired = a.clone();
    a_retired.retired_at = Some(NOW);
    a_retired.remove_after = Some(NOW + 3600);
    assert_eq!(
        ours(ok(store.list_signing_keys().await, "list_signing_keys")),
        vec![c.clone(), a_retired, b.clone()],
        "retire_signing_keys_except retires the others that were live, keeps keep_kid and \
         leaves already-retired keys as they were"
    );

    assert!(ok(
        store.delete_signing_key(&k1).await,
        "delete_signing_key"
    ));
    assert!(!ok(
        store.delete_signing_key(&k1).await,
        "delete_signing_key"
    ));
    assert_eq!(
        ours(ok(store.list_signing_keys().await, "list_signing_keys")),
        vec![c, b]
    );
}

/// Instances starting together on one *empty* database (not part of
/// `run_all`, which runs on databases that already have keys): of
/// racing `insert_first_signing_key` calls spread over `instances`, exactly
/// one inserts per algorithm, and every instance then lists those keys.
pub async fn first_signing_key_once(instances: Vec<Arc<dyn Store>>) {
    assert!(
        !instances.is_empty(),
        "first_signing_key_once needs a store"
    );
    assert!(
        ok(instances[0].list_signing_keys().await, "list_signing_keys").is_empty(),
        "first_signing_key_once needs a database without signing keys"
    );
    let run = unique("first");
    let mut winners = vec![];
    // The first key of all, then the first of a second algorithm while the
    // first exists (a database from before that algorithm was used).
    for alg in [SigningAlg::ES256, SigningAlg::RS256] {
        let mut tasks = vec![];
        for i in 0..RACERS {
            let store = instances[i % instances.len()].clone();
            let kid = format!("{run}-{}-{i}", alg.as_str());
            let rec = SigningKeyRecord {
                kid: kid.clone(),
                alg,
                private_key_sealed: vec![i as u8],
                public_jwk: json!({"kty": "EC", "kid": kid}),
                created_at: NOW,
                retired_at: None,
                remove_after: None,
            };
            tasks.push(tokio::spawn(async move {
                store
                    .insert_first_signing_key(&rec)
                    .await
                    .map(|won| (won, rec.kid))
            }));
        }
        let mut won = vec![];
        for t in tasks {
            let (w, kid) = ok(t.await.expect("racer task"), "insert_first_signing_key");
            if w {
                won.push(kid);
            }
        }
        assert_eq!(
            won.len(),
            1,
            "insert_first_signing_key: exactly one of {} {} racers inserts, got {won:?}",
            RACERS,
            alg.as_str()
        );
        winners.extend(won);
    }
    winners.sort();
    for store in &instances {
        let mut kids: Vec<String> = ok(store.list_signing_keys().await, "list_signing_keys")
            .into_iter()
            .map(|k| k.kid)
            .collect();
        kids.sort();
        assert_eq!(
            kids, winners,
            "every instance lists the one first key of each algorithm and nothing else"
        );
    }
}
