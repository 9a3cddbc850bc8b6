//! Conformance: the mail outbox — messages round-trip, a claim leases each
//! due message to exactly one of racing workers, a lease keeps it from
//! others until it expires, a failed attempt is rescheduled, sent and
//! given-up messages are never claimed again, and purging removes them.

use super::support::{NOW, conflict, ok, race, unique};
use crate::Store;
use authgate_core::model::OutboxMessage;
use std::collections::HashMap;
use std::sync::Arc;

fn message(id: &str, due: i64) -> OutboxMessage {
    OutboxMessage {
        id: id.to_owned(),
        kind: "password_reset".into(),
        recipient: format!("{id}@example.com"),
        payload: format!("sealed-{id}"),
        sealed: true,
        attempts: 0,
        next_attempt_at: due,
        lease_until: None,
        sent_at: None,
        failed_at: None,
        last_error: None,
        created_at: NOW - 100,
    }
}

/// Which of `ours` a claim at `now` returns (other runs' messages may be
/// in the same database).
async fn claim_ours(store: &Arc<dyn Store>, now: i64, ours: &[&str]) -> Vec<String> {
    let mut got: Vec<String> = ok(store.claim_mail(now, now + 60, 50).await, "claim_mail")
        .into_iter()
        .map(|m| m.id)
        .filter(|id| ours.contains(&id.as_str()))
        .collect();
    got.sort();
    got
}

pub async fn outbox(store: Arc<dyn Store>) {
    let (a, b, c) = (unique("mail-a"), unique("mail-b"), unique("mail-c"));
    let ours = [a.as_str(), b.as_str(), c.as_str()];
    let ma = message(&a, NOW - 10);
    let mb = message(&b, NOW - 5);
    let mut mc = message(&c, NOW + 100);
    mc.sealed = false;
    mc.kind = "notice.password_changed".into();
    for m in [&ma, &mb, &mc] {
        ok(store.enqueue_mail(m).await, "enqueue_mail");
    }
    conflict(store.enqueue_mail(&ma).await, "enqueue_mail twice");
    assert_eq!(
        ok(store.get_mail(&c).await, "get_mail"),
        Some(mc.clone()),
        "every field intact"
    );

    // Racing workers: each due message goes to exactly one of them; the
    // one not yet due to none.
    let shared = store.clone();
    let claims = race(move |_| {
        let s = shared.clone();
        async move { s.claim_mail(NOW, NOW + 60, 10).await }
    })
    .await;
    let mut times: HashMap<String, usize> = HashMap::new();
    for r in claims {
        for m in ok(r, "racing claim_mail") {
            if ours.contains(&m.id.as_str()) {
                assert_eq!(m.lease_until, Some(NOW + 60), "claimed with the lease");
                *times.entry(m.id).or_default() += 1;
            }
        }
    }
    assert_eq!(times.get(&a), Some(&1), "a due message is claimed once");
    assert_eq!(times.get(&b), Some(&1), "a due message is claimed once");
    assert_eq!(times.get(&c), None, "a message not yet due is not claimed");

    // Leased: nobody else gets them until the lease ends.
    assert!(claim_ours(&store, NOW + 30, &ours).await.is_empty());
    let mut ab = vec![a.clone(), b.clone()];
    ab.sort();
    assert_eq!(
        claim_ours(&store, NOW + 61, &ours).await,
        ab,
        "lease expired"
    );

    // A failed attempt: rescheduled, lease freed, error kept.
    assert!(ok(
        store
            .reschedule_mail(&a, 1, NOW + 500, "connection refused")
            .await,
        "reschedule_mail"
    ));
    let got = ok(store.get_mail(&a).await, "get_mail").expect("still queued");
    assert_eq!(
        (got.attempts, got.next_attempt_at, got.lease_until),
        (1, NOW + 500, None)
    );
    assert_eq!(got.last_error.as_deref(), Some("connection refused"));

    // Sent: never claimed again.
    assert!(ok(
        store.mark_mail_sent(&b, NOW + 130).await,
        "mark_mail_sent"
    ));
    assert_eq!(
        ok(store.get_mail(&b).await, "get_mail").and_then(|m| m.sent_at),
        Some(NOW + 130)
    );
    let mut ac = vec![a.clone(), c.clone()];
    ac.sort();
    assert_eq!(claim_ours(&store, NOW + 1000, &ours).await, ac);

    // Given up: never claimed again either.
    assert!(ok(
        store.give_up_mail(&a, 10, NOW + 1100, "gave up").await,
        "give_up_mail"
    ));
    assert!(ok(
        store.mark_mail_sent(&c, NOW + 1100).await,
        "mark_mail_sent"
    ));
    let given_up = ok(store.get_mail(&a).await, "get_mail").expect("kept");
    assert_eq!(
        (given_up.attempts, given_up.failed_at),
        (10, Some(NOW + 1100))
    );
    assert!(claim_ours(&store, NOW + 5000, &ours).await.is_empty());
    assert!(!ok(
        store.mark_mail_sent(&unique("none"), NOW).await,
        "unknown"
    ));

    // Purged once done long enough.
    assert!(ok(store.purge_mail(NOW + 1200).await, "purge_mail") >= 3);
    for id in ours {
        assert_eq!(ok(store.get_mail(id).await, "get_mail"), None);
    }
}
