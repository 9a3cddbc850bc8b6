//! Conformance: authorization codes, grants, refresh tokens.

use super::fixtures::{bare_client, grant, refresh};
use super::support::{NOW, RACERS, conflict, ok, race, strings, unique};
use crate::Store;
use authgate_core::model::*;
use std::sync::Arc;

fn code(hash: &str, client_id: &str, expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.to_owned(),
        client_id: client_id.to_owned(),
        redirect_uri: "http://127.0.0.1:33418/callback?x=1".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        resource_id: "weather".into(),
        scopes: strings(&["weather:read", "weather:write"]),
        user_id: unique("u"),
        auth_time: NOW - 60,
        nonce: Some("n-0S6_WzA2Mj".into()),
        grant_id: unique("g"),
        expires_at,
        consumed_at: None,
        auth: AuthContext::default(),
    }
}

/// A sign-in context with every field set, to check it round-trips.
fn full_auth() -> AuthContext {
    AuthContext {
        amr: strings(&["pwd", "otp", "mfa"]),
        idp: Some(unique("conn")),
        org_id: Some(unique("org")),
    }
}

/// Inserts a client for the tokens to belong to.
async fn client(store: &Arc<dyn Store>) -> String {
    let id = unique("cl");
    ok(
        store
            .insert_client(&bare_client(&id, ClientKind::Dynamic, NOW))
            .await,
        "insert_client",
    );
    id
}

/// Authorization codes: round trip, single redemption (also under a race),
/// purge.
pub async fn codes(store: Arc<dyn Store>) {
    let cid = client(&store).await;
    // c1 carries a full sign-in context, c2 an empty one (older rows).
    let mut c1 = code(&unique("code"), &cid, NOW + 600);
    c1.auth = full_auth();
    let mut c2 = code(&unique("code"), &cid, NOW + 600);
    c2.nonce = None;
    c2.scopes = vec![];
    ok(store.insert_code(&c1).await, "insert_code");
    ok(store.insert_code(&c2).await, "insert_code");
    conflict(
        store.insert_code(&c1).await,
        "insert_code with an existing hash",
    );

    assert_eq!(
        ok(store.redeem_code(&unique("code"), NOW).await, "redeem_code"),
        CodeRedemption::NotFound
    );
    let mut want1 = c1.clone();
    want1.consumed_at = Some(NOW);
    assert_eq!(
        ok(store.redeem_code(&c1.code_hash, NOW).await, "redeem_code"),
        CodeRedemption::Redeemed(want1.clone()),
        "first redemption returns every field, consumed_at = now"
    );
    assert_eq!(
        ok(
            store.redeem_code(&c1.code_hash, NOW + 5).await,
            "redeem_code"
        ),
        CodeRedemption::Replayed(want1),
        "second redemption is a replay and keeps the first consumed_at"
    );
    let mut want2 = c2.clone();
    want2.consumed_at = Some(NOW + 1);
    assert_eq!(
        ok(
            store.redeem_code(&c2.code_hash, NOW + 1).await,
            "redeem_code"
        ),
        CodeRedemption::Redeemed(want2),
        "code without nonce and scopes round-trips"
    );

    // Race: exactly one caller redeems.
    let raced = code(&unique("code"), &cid, NOW + 600);
    ok(store.insert_code(&raced).await, "insert_code");
    let results = race(|_| {
        let store = store.clone();
        let hash = raced.code_hash.clone();
        async move { store.redeem_code(&hash, NOW + 2).await }
    })
    .await;
    let mut redeemed = 0;
    let mut replayed = 0;
    for r in results {
        match ok(r, "redeem_code (racing)") {
            CodeRedemption::Redeemed(c) => {
                assert_eq!(c.consumed_at, Some(NOW + 2));
                redeemed += 1
            }
            CodeRedemption::Replayed(c) => {
                assert_eq!(c.consumed_at, Some(NOW + 2));
                replayed += 1
            }
            CodeRedemption::NotFound => panic!("redeem_code (racing): NotFound for a stored code"),
        }
    }
    assert_eq!(
        (redeemed, replayed),
        (1, RACERS - 1),
        "{RACERS} concurrent redeem_code: exactly one Redeemed, the rest Replayed"
    );

    // Purge removes codes that expired before the cut-off, and only those.
    let cutoff = NOW - 500_000;
    ok(store.purge_codes(cutoff).await, "purge_codes");
    let old = code(&unique("code"), &cid, cutoff - 1);
    let fresh = code(&unique("code"), &cid, cutoff + 1);
    ok(store.insert_code(&old).await, "insert_code");
    ok(store.insert_code(&fresh).await, "insert_code");
    assert_eq!(ok(store.purge_codes(cutoff).await, "purge_codes"), 1);
    assert_eq!(
        ok(store.redeem_code(&old.code_hash, NOW).await, "redeem_code"),
        CodeRedemption::NotFound,
        "a purged code is gone"
    );
    assert!(matches!(
        ok(
            store.redeem_code(&fresh.code_hash, NOW).await,
            "redeem_code"
        ),
        CodeRedemption::Redeemed(_)
    ));
}

/// Grants: round trip, touch, revoke (cascading to refresh tokens),
/// revoke_grants_for, list order.
pub async fn grants(store: Arc<dyn Store>) {
    let cid = client(&store).await;
    let cid2 = client(&store).await;
    let user = unique("u");
    let user2 = unique("u");
    let res = unique("res");

    // g1 carries a full sign-in context; g_cc (client credentials) none.
    let mut g1 = grant(&unique("g"), &cid, Some(&user), &res, NOW - 30);
    g1.auth = full_auth();
    let mut g_cc = grant(&unique("g"), &cid, None, &res, NOW - 30);
    g_cc.scopes = vec![];
    g_cc.revoked_at = Some(NOW - 1);
    ok(store.insert_grant(&g1).await, "insert_grant");
    ok(store.insert_grant(&g_cc).await, "insert_grant");
    conflict(
        store.insert_grant(&g1).await,
        "insert_grant with an existing id",
    );
    assert_eq!(
        ok(store.get_grant(&g1.id).await, "get_grant").as_ref(),
        Some(&g1)
    );
    assert_eq!(
        ok(store.get_grant(&g_cc.id).await, "get_grant").as_ref(),
        Some(&g_cc),
        "grant without user, with revoked_at, round-trips"
    );
    assert_eq!(ok(store.get_grant(&unique("g")).await, "get_grant"), None);

    ok(store.touch_grant(&g1.id, NOW - 2).await, "touch_grant");
    let touched = ok(store.get_grant(&g1.id).await, "get_grant");
    assert_eq!(touched.as_ref().map(|g| g.last_used_at), Some(NOW - 2));
    assert_eq!(
        touched.as_ref().map(|g| g.created_at),
        Some(g1.created_at),
        "touch_grant changes last_used_at only"
    );

    // revoke_grant revokes the grant and every refresh token in it.
    let mut g2 = grant(&unique("g"), &cid, Some(&user), &res, NOW - 20);
    g2.auth = full_auth(); // read back through the joined refresh context below
    ok(store.insert_grant(&g2).await, "insert_grant");
    let t1 = refresh(&unique("rt"), &g1, NOW - 30);
    let t2 = refresh(&unique("rt"), &g1, NOW - 29);
    let t_other = refresh(&unique("rt"), &g2, NOW - 20);
    for t in [&t1, &t2, &t_other] {
        ok(store.insert_refresh_token(t).await, "insert_refresh_token");
    }
    assert!(ok(store.revoke_grant(&g1.id, NOW).await, "revoke_grant"));
    assert_eq!(
        ok(store.get_grant(&g1.id).await, "get_grant").and_then(|g| g.revoked_at),
        Some(NOW)
    );
    for t in [&t1, &t2] {
        assert_eq!(
            ok(
                store.get_refresh_token(&t.token_hash).await,
                "get_refresh_token"
            )
            .and_then(|t| t.revoked_at),
            Some(NOW),
            "revoke_grant must set revoked_at on the grant's refresh tokens"
        );
    }
    assert_eq!(
        ok(
            store.get_refresh_token(&t_other.token_hash).await,
            "get_refresh_token"
        )
        .and_then(|t| t.revoked_at),
        None,
        "revoke_grant must leave other grants' tokens alone"
    );
    // The joined read returns exactly what the separate reads return; the
    // grant's person (not stored yet) is not active.
    let ctx = |h: String| {
        let store = store.clone();
        async move {
            ok(
                store.get_refresh_token_context(&h).await,
                "get_refresh_token_context",
            )
        }
    };
    let separate = (
        ok(
            store.get_refresh_token(&t_other.token_hash).await,
            "get_refresh_token",
        ),
        ok(store.get_grant(&g2.id).await, "get_grant"),
    );
    assert!(separate.0.is_some() && separate.1.is_some());
    let got = ctx(t_other.token_hash.clone()).await;
    assert_eq!(
        got,
        Some(RefreshTokenContext {
            token: separate.0.clone().unwrap(),
            grant: separate.1.clone(),
            subject: None,
        }),
        "a grant whose person does not exist has no standing"
    );
    assert_eq!(
        got.map(|c| c.subject_active()),
        Some(false),
        "a grant whose person does not exist is not active"
    );
    // The person exists: active; disabled: not active.
    let mut person = super::fixtures::user(&user, &format!("{user}@example.com"), NOW);
    ok(store.insert_user(&person).await, "insert_user");
    assert_eq!(
        ctx(t_other.token_hash.clone())
            .await
            .map(|c| c.subject_active()),
        Some(true),
        "a grant whose person exists and is enabled is active"
    );
    // What the sign-up hold reads of the person comes with it, and follows
    // changes to the account.
    assert_eq!(
        ctx(t_other.token_hash.clone()).await.map(|c| c.subject),
        Some(Some(person.standing())),
        "the joined read carries the person's standing"
    );
    for (signed_up, email_verified) in [(true, false), (true, true), (false, true)] {
        person.signed_up = signed_up;
        person.email_verified = email_verified;
        ok(store.update_user(&person).await, "update_user");
        assert_eq!(
            ctx(t_other.token_hash.clone())
                .await
                .and_then(|c| c.subject),
            Some(AccountStanding {
                disabled: false,
                email_verified,
                signed_up,
            }),
            "signed_up {signed_up}, email_verified {email_verified} read back"
        );
    }
    person.disabled = true;
    ok(store.update_user(&person).await, "update_user");
    assert_eq!(
        ctx(t_other.token_hash.clone())
            .await
            .map(|c| c.subject_active()),
        Some(false),
        "a disabled person's grant is not active"
    );
    assert_eq!(
        ctx(t_other.token_hash.clone())
            .await
            .and_then(|c| c.subject)
            .map(|s| s.disabled),
        Some(true),
        "a disabled person's standing says so"
    );
    // A client's own grant (no person) is active.
    let g_client = grant(&unique("g"), &cid, None, &res, NOW - 20);
    ok(store.insert_grant(&g_client).await, "insert_grant");
    let t_client = refresh(&unique("rt"), &g_client, NOW - 20);
    ok(
        store.insert_refresh_token(&t_client).await,
        "insert_refresh_token",
    );
    assert_eq!(
        ctx(t_client.token_hash.clone())
            .await
            .map(|c| c.subject_active()),
        Some(true),
        "a grant without a person is active"
    );
    assert_eq!(
        ctx(t_client.token_hash.clone()).await.map(|c| c.subject),
        Some(None),
        "a grant without a person has no standing"
    );
    assert_eq!(
        ctx(t1.token_hash.clone())
            .await
            .map(|c| (c.token.revoked_at, c.grant.and_then(|g| g.revoked_at))),
        Some((Some(NOW), Some(NOW))),
        "the joined read sees a revoked token and grant"
    );
    assert_eq!(ctx(unique("rt")).await, None);
    assert!(
        !ok(store.revoke_grant(&unique("g"), NOW).await, "revoke_grant"),
        "revoke_grant of an unknown grant returns false"
    );
    let successor = refresh(&unique("rt"), &g1, NOW);
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&t1.token_hash, &successor, NOW)
                .await,
            "rotate_refresh_token"
        ),
        RotationOutcome::NotFound,
        "a token of a revoked grant cannot rotate"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&successor.token_hash).await,
            "get_refresh_token"
        ),
        None
    );

    // revoke_grants_for: only that (user, client, resource).
    let res2 = unique("res");
    let g3 = grant(&unique("g"), &cid, Some(&user), &res, NOW - 10);
    let g_res2 = grant(&unique("g"), &cid, Some(&user), &res2, NOW - 10);
    let g_client2 = grant(&unique("g"), &cid2, Some(&user), &res, NOW - 10);
    let g_user2 = grant(&unique("g"), &cid, Some(&user2), &res, NOW - 10);
    for g in [&g3, &g_res2, &g_client2, &g_user2] {
        ok(store.insert_grant(g).await, "insert_grant");
    }
    let t3 = refresh(&unique("rt"), &g3, NOW - 10);
    ok(
        store.insert_refresh_token(&t3).await,
        "insert_refresh_token",
    );

    // Live grants of `user`, newest first: g3 / g_res2 / g_client2 (same
    // second, by id descending), then g2. g1 is revoked.
    let mut newest = vec![g3.clone(), g_res2.clone(), g_client2.clone()];
    newest.sort_by(|a, b| b.id.cmp(&a.id));
    newest.push(g2.clone());
    assert_eq!(
        ok(
            store.list_grants_for_user(&user).await,
            "list_grants_for_user"
        ),
        newest,
        "list_grants_for_user: live grants, newest first (created_at, then id, descending)"
    );

    let n = ok(
        store.revoke_grants_for(&user, &cid, &res, NOW + 1).await,
        "revoke_grants_for",
    );
    assert_eq!(
        n, 2,
        "revoke_grants_for counts the live grants it revoked (g2, g3)"
    );
    for (g, revoked) in [
        (&g2, true),
        (&g3, true),
        (&g_res2, false),
        (&g_client2, false),
        (&g_user2, false),
    ] {
        let got = ok(store.get_grant(&g.id).await, "get_grant").and_then(|g| g.revoked_at);
        assert_eq!(
            got.is_some(),
            revoked,
            "revoke_grants_for touched the wrong grants"
        );
    }
    assert_eq!(
        ok(store.get_grant(&g1.id).await, "get_grant").and_then(|g| g.revoked_at),
        Some(NOW),
        "an already revoked grant keeps its revoked_at"
    );
    for t in [&t3, &t_other] {
        assert_eq!(
            ok(
                store.get_refresh_token(&t.token_hash).await,
                "get_refresh_token"
            )
            .and_then(|t| t.revoked_at),
            Some(NOW + 1),
            "revoke_grants_for revokes the grants' refresh tokens"
        );
    }
    assert_eq!(
        ok(
            store.revoke_grants_for(&user, &cid, &res, NOW + 2).await,
            "revoke_grants_for"
        ),
        0
    );
    assert_eq!(
        ok(
            store.list_grants_for_user(&user).await,
            "list_grants_for_user"
        )
        .into_iter()
        .map(|g| g.id)
        .collect::<Vec<_>>(),
        {
            let mut v = vec![g_res2.id.clone(), g_client2.id.clone()];
            v.sort_by(|a, b| b.cmp(a));
            v
        }
    );

    // revoke_grants_for_user: every live grant of that user, with their
    // refresh tokens; other users untouched.
    let t_res2 = refresh(&unique("rt"), &g_res2, NOW - 10);
    ok(
        store.insert_refresh_token(&t_res2).await,
        "insert_refresh_token",
    );
    assert_eq!(
        ok(
            store.revoke_grants_for_user(&user, NOW + 3).await,
            "revoke_grants_for_user"
        ),
        2,
        "revoke_grants_for_user counts the live grants it revoked (g_res2, g_client2)"
    );
    assert!(
        ok(
            store.list_grants_for_user(&user).await,
            "list_grants_for_user"
        )
        .is_empty(),
        "revoke_grants_for_user leaves the user no live grant"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&t_res2.token_hash).await,
            "get_refresh_token"
        )
        .and_then(|t| t.revoked_at),
        Some(NOW + 3),
        "revoke_grants_for_user revokes the grants' refresh tokens"
    );
    assert_eq!(
        ok(store.get_grant(&g2.id).await, "get_grant").and_then(|g| g.revoked_at),
        Some(NOW + 1),
        "an already revoked grant keeps its revoked_at"
    );
    assert_eq!(
        ok(store.get_grant(&g_user2.id).await, "get_grant").and_then(|g| g.revoked_at),
        None,
        "revoke_grants_for_user leaves other users' grants alone"
    );
    assert_eq!(
        ok(
            store.revoke_grants_for_user(&user, NOW + 4).await,
            "revoke_grants_for_user"
        ),
        0
    );

    revocation_races_rotation(&store, &cid).await;
    concurrent_rotations_all_land(&store, &cid).await;
    concurrent_context_reads_get_their_own(&store, &cid).await;
}

/// Context reads at the same moment (a backend may answer them together)
/// each get their own token's context: two grants, one with a person who is
/// disabled, repeated tokens, and hashes that match nothing.
async fn concurrent_context_reads_get_their_own(store: &Arc<dyn Store>, cid: &str) {
    let user = unique("u");
    let mut person = super::fixtures::user(&user, &format!("{user}@example.com"), NOW);
    person.disabled = true;
    person.signed_up = true; // read back in each racer's standing
    ok(store.insert_user(&person).await, "insert_user");
    let grants = [
        grant(&unique("g"), cid, None, "weather", NOW),
        grant(&unique("g"), cid, Some(&user), "weather", NOW),
    ];
    let mut tokens = Vec::new();
    for (i, g) in grants.iter().enumerate() {
        ok(store.insert_grant(g).await, "insert_grant");
        for _ in 0..3 {
            let t = refresh(&unique("rt"), g, NOW + i as i64);
            ok(store.insert_refresh_token(&t).await, "insert_refresh_token");
            tokens.push(t);
        }
    }
    // Racer i asks for token i % 8: six tokens (some twice), two unknowns.
    let asked = |i: usize| match i % 8 {
        k @ 0..=5 => Some(tokens[k].clone()),
        _ => None,
    };
    let results = race(|i| {
        let store = store.clone();
        let hash = asked(i).map_or_else(|| unique("missing"), |t| t.token_hash);
        async move { store.get_refresh_token_context(&hash).await }
    })
    .await;
    for (i, r) in results.into_iter().enumerate() {
        let got = ok(r, "get_refresh_token_context (concurrent)");
        match asked(i) {
            None => assert_eq!(got, None, "racer {i}: an unknown hash has no context"),
            Some(t) => {
                let got =
                    got.unwrap_or_else(|| panic!("racer {i}: token {} not found", t.token_hash));
                assert_eq!(got.token, t, "racer {i}: its own token");
                let g = &grants[usize::from(i % 8 >= 3)];
                assert_eq!(got.grant.as_ref(), Some(g), "racer {i}: its token's grant");
                assert_eq!(
                    got.subject_active(),
                    g.user_id.is_none(),
                    "racer {i}: a client's own grant is active; the disabled person's is not"
                );
                assert_eq!(
                    got.subject,
                    g.user_id.is_some().then(|| person.standing()),
                    "racer {i}: the person's standing, none for a client's own grant"
                );
            }
        }
    }
}

/// Rotations of different tokens at the same moment (a backend may commit
/// them together) each succeed, and every successor is stored, readable at
/// once and rotatable in turn.
async fn concurrent_rotations_all_land(store: &Arc<dyn Store>, cid: &str) {
    let g = grant(&unique("g"), cid, None, "weather", NOW);
    ok(store.insert_grant(&g).await, "insert_grant");
    let mut current: Vec<RefreshToken> = (0..RACERS)
        .map(|_| refresh(&unique("rt"), &g, NOW))
        .collect();
    for t in &current {
        ok(store.insert_refresh_token(t).await, "insert_refresh_token");
    }
    for round in 0..4 {
        let next: Vec<RefreshToken> = (0..RACERS)
            .map(|_| refresh(&unique("rt"), &g, NOW + 1 + round))
            .collect();
        let results = race(|i| {
            let store = store.clone();
            let parent = current[i].token_hash.clone();
            let succ = next[i].clone();
            async move {
                store
                    .rotate_refresh_token(&parent, &succ, NOW + 1 + round)
                    .await
            }
        })
        .await;
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(
                ok(r, "rotate_refresh_token (concurrent, different tokens)"),
                RotationOutcome::Rotated,
                "round {round}: rotation {i} of {RACERS} different tokens at once"
            );
            let stored = ok(
                store.get_refresh_token(&next[i].token_hash).await,
                "get_refresh_token",
            );
            assert_eq!(
                stored.as_ref(),
                Some(&next[i]),
                "round {round}: successor {i} is stored and readable"
            );
            let parent = ok(
                store.get_refresh_token(&current[i].token_hash).await,
                "get_refresh_token",
            );
            assert_eq!(
                parent.and_then(|p| p.successor_hash),
                Some(next[i].token_hash.clone()),
                "round {round}: parent {i} names its successor"
            );
        }
        current = next;
    }
}

/// Rotations racing `revoke_grant` never leave a live refresh token in the
/// revoked grant: a successor stored by a rotation that won the race is
/// revoked too.
async fn revocation_races_rotation(store: &Arc<dyn Store>, cid: &str) {
    for round in 0..8 {
        let g = grant(&unique("g"), cid, Some(&unique("u")), "weather", NOW);
        ok(store.insert_grant(&g).await, "insert_grant");
        let parents: Vec<RefreshToken> = (0..RACERS - 1)
            .map(|_| refresh(&unique("rt"), &g, NOW))
            .collect();
        for p in &parents {
            ok(store.insert_refresh_token(p).await, "insert_refresh_token");
        }
        let successors: Vec<RefreshToken> = (0..RACERS - 1)
            .map(|_| refresh(&unique("rt"), &g, NOW + 1))
            .collect();
        // The last racer revokes the grant; the others rotate one token each.
        let results = race(|i| {
            let store = store.clone();
            let grant_id = g.id.clone();
            let job = parents
                .get(i)
                .zip(successors.get(i))
                .map(|(p, s)| (p.token_hash.clone(), s.clone()));
            async move {
                match job {
                    Some((parent, succ)) => store
                        .rotate_refresh_token(&parent, &succ, NOW + 1)
                        .await
                        .map(|o| o == RotationOutcome::Rotated),
                    None => store.revoke_grant(&grant_id, NOW + 1).await,
                }
            }
        })
        .await;
        for (i, r) in results.into_iter().enumerate() {
            let done = ok(r, "rotate_refresh_token / revoke_grant (racing)");
            if i == RACERS - 1 {
                assert!(done, "revoke_grant of a stored grant returns true");
            } else if done {
                let stored = ok(
                    store.get_refresh_token(&successors[i].token_hash).await,
                    "get_refresh_token",
                );
                assert!(
                    stored.is_some_and(|t| t.revoked_at.is_some()),
                    "round {round}: a rotation racing revoke_grant left a live successor \
                     in the revoked grant"
                );
            }
        }
        for p in &parents {
            let t = ok(
                store.get_refresh_token(&p.token_hash).await,
                "get_refresh_token",
            );
            assert!(
                t.is_some_and(|t| t.revoked_at.is_some()),
                "round {round}: revoke_grant left a live token"
            );
        }
    }
}

/// Refresh tokens: round trip, rotation (also under a race), revocation.
pub async fn refresh_tokens(store: Arc<dyn Store>) {
    let cid = client(&store).await;
    let g = grant(&unique("g"), &cid, Some(&unique("u")), "weather", NOW - 100);
    ok(store.insert_grant(&g).await, "insert_grant");

    let t = refresh(&unique("rt"), &g, NOW - 100);
    let mut t_full = refresh(&unique("rt"), &g, NOW - 90);
    t_full.rotated_at = Some(NOW - 80);
    t_full.successor_hash = Some(unique("rt"));
    t_full.revoked_at = Some(NOW - 70);
    t_full.scopes = vec![];
    ok(store.insert_refresh_token(&t).await, "insert_refresh_token");
    ok(
        store.insert_refresh_token(&t_full).await,
        "insert_refresh_token",
    );
    conflict(
        store.insert_refresh_token(&t).await,
        "insert_refresh_token with an existing hash",
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&t.token_hash).await,
            "get_refresh_token"
        )
        .as_ref(),
        Some(&t)
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&t_full.token_hash).await,
            "get_refresh_token"
        )
        .as_ref(),
        Some(&t_full),
        "refresh token with every option set round-trips"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&unique("rt")).await,
            "get_refresh_token"
        ),
        None
    );

    // Rotation.
    let s1 = refresh(&unique("rt"), &g, NOW);
    assert_eq!(
        ok(
            store.rotate_refresh_token(&t.token_hash, &s1, NOW).await,
            "rotate_refresh_token"
        ),
        RotationOutcome::Rotated
    );
    let mut t_rotated = t.clone();
    t_rotated.rotated_at = Some(NOW);
    t_rotated.successor_hash = Some(s1.token_hash.clone());
    assert_eq!(
        ok(
            store.get_refresh_token(&t.token_hash).await,
            "get_refresh_token"
        )
        .as_ref(),
        Some(&t_rotated),
        "rotation marks the parent rotated with its successor"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&s1.token_hash).await,
            "get_refresh_token"
        )
        .as_ref(),
        Some(&s1),
        "rotation stores the successor"
    );
    let s_late = refresh(&unique("rt"), &g, NOW + 5);
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&t.token_hash, &s_late, NOW + 5)
                .await,
            "rotate_refresh_token"
        ),
        RotationOutcome::AlreadyRotated {
            rotated_at: NOW,
            successor_hash: s1.token_hash.clone()
        }
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&s_late.token_hash).await,
            "get_refresh_token"
        ),
        None,
        "AlreadyRotated inserts nothing"
    );
    // The successor rotates in turn.
    let s2 = refresh(&unique("rt"), &g, NOW + 10);
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&s1.token_hash, &s2, NOW + 10)
                .await,
            "rotate_refresh_token"
        ),
        RotationOutcome::Rotated
    );
    // Unknown and revoked parents.
    let s_x = refresh(&unique("rt"), &g, NOW);
    assert_eq!(
        ok(
            store.rotate_refresh_token(&unique("rt"), &s_x, NOW).await,
            "rotate_refresh_token"
        ),
        RotationOutcome::NotFound
    );
    assert!(ok(
        store.revoke_refresh_token(&s2.token_hash, NOW + 11).await,
        "revoke_refresh_token"
    ));
    assert_eq!(
        ok(
            store.get_refresh_token(&s2.token_hash).await,
            "get_refresh_token"
        )
        .and_then(|t| t.revoked_at),
        Some(NOW + 11)
    );
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&s2.token_hash, &s_x, NOW + 12)
                .await,
            "rotate_refresh_token"
        ),
        RotationOutcome::NotFound,
        "a revoked token cannot rotate"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&s_x.token_hash).await,
            "get_refresh_token"
        ),
        None
    );
    assert!(
        !ok(
            store.revoke_refresh_token(&unique("rt"), NOW).await,
            "revoke_refresh_token"
        ),
        "revoke_refresh_token of an unknown token returns false"
    );

    // A successor whose hash exists already fails the rotation as a whole:
    // the parent stays unrotated and the store keeps working.
    let p_dup = refresh(&unique("rt"), &g, NOW);
    ok(
        store.insert_refresh_token(&p_dup).await,
        "insert_refresh_token",
    );
    let clash = refresh(&t_full.token_hash, &g, NOW);
    assert!(
        store
            .rotate_refresh_token(&p_dup.token_hash, &clash, NOW)
            .await
            .is_err(),
        "rotate_refresh_token with an existing successor hash must fail"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&p_dup.token_hash).await,
            "get_refresh_token"
        )
        .as_ref(),
        Some(&p_dup),
        "a failed rotation leaves the parent unrotated"
    );
    let s_ok = refresh(&unique("rt"), &g, NOW);
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&p_dup.token_hash, &s_ok, NOW)
                .await,
            "rotate_refresh_token after a failed one"
        ),
        RotationOutcome::Rotated
    );

    // Race: exactly one of the concurrent rotations wins.
    let parent = refresh(&unique("rt"), &g, NOW);
    ok(
        store.insert_refresh_token(&parent).await,
        "insert_refresh_token",
    );
    let successors: Vec<RefreshToken> = (0..RACERS)
        .map(|_| refresh(&unique("rt"), &g, NOW + 20))
        .collect();
    let results = race(|i| {
        let store = store.clone();
        let parent = parent.token_hash.clone();
        let succ = successors[i].clone();
        async move { store.rotate_refresh_token(&parent, &succ, NOW + 20).await }
    })
    .await;
    let mut winners = vec![];
    let mut seen_successors = vec![];
    for (i, r) in results.into_iter().enumerate() {
        match ok(r, "rotate_refresh_token (racing)") {
            RotationOutcome::Rotated => winners.push(i),
            RotationOutcome::AlreadyRotated {
                rotated_at,
                successor_hash,
            } => {
                assert_eq!(rotated_at, NOW + 20);
                seen_successors.push(successor_hash);
            }
            RotationOutcome::NotFound => {
                panic!("rotate_refresh_token (racing): NotFound for a live token")
            }
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "{RACERS} concurrent rotate_refresh_token: exactly one Rotated (got {winners:?})"
    );
    let winner = &successors[winners[0]];
    assert!(
        seen_successors.iter().all(|s| *s == winner.token_hash),
        "every loser sees the winner's successor hash"
    );
    assert_eq!(
        ok(
            store.get_refresh_token(&parent.token_hash).await,
            "get_refresh_token"
        )
        .and_then(|t| t.successor_hash),
        Some(winner.token_hash.clone())
    );
    for (i, s) in successors.iter().enumerate() {
        let stored = ok(
            store.get_refresh_token(&s.token_hash).await,
            "get_refresh_token",
        );
        assert_eq!(
            stored.is_some(),
            i == winners[0],
            "only the winner's successor row exists"
        );
    }
}
