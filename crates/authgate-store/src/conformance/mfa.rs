//! Conformance: TOTP authenticators and recovery codes — a confirmed
//! authenticator is never replaced by a new enrolment, a confirmation names
//! its enrolment, a time step is accepted once (and never an older one),
//! recovery codes are single use even under a race, regenerating replaces
//! them all, and deleting the person removes both.

use super::fixtures::user;
use super::support::{NOW, ok, race, unique};
use crate::Store;
use authgate_core::model::TotpRecord;
use std::sync::Arc;

fn totp(user_id: &str, id: &str, secret: &[u8]) -> TotpRecord {
    TotpRecord {
        user_id: user_id.to_owned(),
        id: id.to_owned(),
        secret_sealed: secret.to_vec(),
        created_at: NOW,
        confirmed_at: None,
        last_used_step: None,
    }
}

pub async fn mfa(store: Arc<dyn Store>) {
    let u = unique("mfa-user");
    ok(
        store
            .insert_user(&user(&u, &format!("{u}@example.com"), NOW))
            .await,
        "insert_user",
    );
    assert_eq!(ok(store.get_totp(&u).await, "get_totp"), None);
    // A step cannot be used on a person without a confirmed authenticator.
    assert!(!ok(store.use_totp_step(&u, 1).await, "use_totp_step"));

    let first = totp(&u, &unique("enrol1"), &[1, 2, 3, 0, 255]);
    assert!(ok(store.begin_totp(&first).await, "begin_totp"));
    assert_eq!(
        ok(store.get_totp(&u).await, "get_totp"),
        Some(first.clone()),
        "every field intact (the sealed bytes too)"
    );
    assert!(
        !ok(store.use_totp_step(&u, 5).await, "use_totp_step"),
        "an unconfirmed authenticator is not a second factor"
    );
    // A second enrolment replaces an unconfirmed one; the first's id no
    // longer confirms anything.
    let second = totp(&u, &unique("enrol2"), &[9, 9, 9]);
    assert!(ok(store.begin_totp(&second).await, "begin_totp again"));
    assert!(!ok(
        store.confirm_totp(&u, &first.id, 100, NOW).await,
        "confirm the replaced enrolment"
    ));
    assert!(ok(
        store.confirm_totp(&u, &second.id, 100, NOW + 1).await,
        "confirm"
    ));
    assert!(!ok(
        store.confirm_totp(&u, &second.id, 101, NOW + 2).await,
        "confirm twice"
    ));
    let got = ok(store.get_totp(&u).await, "get_totp").unwrap();
    assert_eq!(got.confirmed_at, Some(NOW + 1));
    assert_eq!(got.last_used_step, Some(100));
    assert_eq!(got.secret_sealed, vec![9, 9, 9]);
    // A confirmed authenticator is not replaced by a new enrolment.
    let third = totp(&u, &unique("enrol3"), &[7]);
    assert!(!ok(store.begin_totp(&third).await, "begin over confirmed"));
    assert_eq!(
        ok(store.get_totp(&u).await, "get_totp").unwrap().id,
        second.id
    );

    // Steps: the confirming one and older ones are spent; a newer one is
    // accepted once, by exactly one of concurrent callers.
    assert!(!ok(
        store.use_totp_step(&u, 100).await,
        "step used at confirm"
    ));
    assert!(!ok(store.use_totp_step(&u, 99).await, "older step"));
    let wins = race(|_| {
        let (store, u) = (store.clone(), u.clone());
        async move { ok(store.use_totp_step(&u, 101).await, "race step") }
    })
    .await;
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "one step, one acceptance"
    );
    assert!(ok(store.use_totp_step(&u, 103).await, "newer step"));
    assert!(!ok(
        store.use_totp_step(&u, 102).await,
        "step before the newest"
    ));

    // Recovery codes.
    let hashes: Vec<String> = (0..10).map(|i| unique(&format!("rc{i}"))).collect();
    ok(
        store.replace_recovery_codes(&u, &hashes, NOW).await,
        "replace_recovery_codes",
    );
    assert_eq!(ok(store.count_recovery_codes(&u).await, "count"), 10);
    let other = unique("mfa-other");
    assert!(
        !ok(
            store.use_recovery_code(&other, &hashes[0], NOW).await,
            "another person's code"
        ),
        "codes are the person's own"
    );
    let wins = race(|_| {
        let (store, u, h) = (store.clone(), u.clone(), hashes[0].clone());
        async move { ok(store.use_recovery_code(&u, &h, NOW).await, "race code") }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "single use");
    assert!(!ok(
        store.use_recovery_code(&u, &unique("nope"), NOW).await,
        "unknown code"
    ));
    assert_eq!(ok(store.count_recovery_codes(&u).await, "count"), 9);
    let fresh: Vec<String> = (0..10).map(|i| unique(&format!("rc-new{i}"))).collect();
    ok(
        store.replace_recovery_codes(&u, &fresh, NOW + 5).await,
        "regenerate",
    );
    assert!(
        !ok(
            store.use_recovery_code(&u, &hashes[1], NOW).await,
            "old code after regenerating"
        ),
        "regenerating replaces all codes"
    );
    assert_eq!(ok(store.count_recovery_codes(&u).await, "count"), 10);

    // Deleting the authenticator and the codes.
    assert!(ok(store.delete_totp(&u).await, "delete_totp"));
    assert!(!ok(store.delete_totp(&u).await, "delete_totp twice"));
    assert_eq!(
        ok(store.delete_recovery_codes(&u).await, "delete codes"),
        10
    );
    assert_eq!(ok(store.count_recovery_codes(&u).await, "count"), 0);

    // Deleting the person removes both.
    ok(store.begin_totp(&third).await, "begin_totp");
    ok(
        store.replace_recovery_codes(&u, &fresh, NOW).await,
        "replace_recovery_codes",
    );
    assert!(ok(store.delete_user(&u).await, "delete_user"));
    assert_eq!(ok(store.get_totp(&u).await, "get_totp"), None);
    assert_eq!(ok(store.count_recovery_codes(&u).await, "count"), 0);
}
