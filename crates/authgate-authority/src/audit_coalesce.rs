//! Identical audit events stored once, with their number.
//!
//! Under load most audit events repeat exactly: a service fetching tokens
//! in a loop produces, every second, the same `token.issued` row (same
//! second, client, address, resource and grant) hundreds or thousands of
//! times; a password-guessing flood produces the same `sign_in.failed` row.
//! One row per occurrence would grow the store by ~150 bytes a token
//! (13 GB a day at 1,000 tokens/s, kept `audit_retention_days`) and cost a
//! few percent of the server's CPU in inserts. So before a batch is
//! written, events that agree in every field but their id become one event
//! whose detail says how many there were: `"occurrences": N`. Nothing is
//! lost: the rows differed only in their ids.
//!
//! Only the last [`WINDOW`] distinct events are looked at, so merging costs
//! a few comparisons an event however varied the traffic; events of
//! different kinds interleaved more widely than that are simply kept apart.

use authgate_core::model::AuditEvent;
use serde_json::Value;
use std::collections::VecDeque;

/// The detail key that carries how many identical events a row stands for
/// (absent when it stands for one).
pub const OCCURRENCES: &str = "occurrences";

/// How many of the most recent distinct events a new one is compared with.
const WINDOW: usize = 16;

/// Merges events identical in all but their id; each merged event keeps the
/// position of its first occurrence. Events whose detail is neither an
/// object nor null, or already has an [`OCCURRENCES`] key, are kept as they
/// are.
pub fn coalesce(events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    let mut out: Vec<AuditEvent> = Vec::with_capacity(events.len());
    let mut counts: Vec<u64> = Vec::with_capacity(events.len());
    // Indices into `out` of the most recent distinct mergeable events.
    let mut recent: VecDeque<usize> = VecDeque::with_capacity(WINDOW);
    for ev in events {
        if mergeable(&ev) {
            if let Some(&i) = recent.iter().rev().find(|&&i| same(&out[i], &ev)) {
                counts[i] += 1;
                continue;
            }
            if recent.len() == WINDOW {
                recent.pop_front();
            }
            recent.push_back(out.len());
        }
        out.push(ev);
        counts.push(1);
    }
    for (ev, n) in out.iter_mut().zip(counts) {
        if n > 1 {
            mark(ev, n);
        }
    }
    out
}

fn mergeable(e: &AuditEvent) -> bool {
    match &e.detail {
        Value::Null => true,
        Value::Object(m) => !m.contains_key(OCCURRENCES),
        _ => false,
    }
}

/// Equal in every field a row stores but the id (cheapest checks first).
fn same(a: &AuditEvent, b: &AuditEvent) -> bool {
    a.at == b.at
        && a.event == b.event
        && a.client_id == b.client_id
        && a.address == b.address
        && a.actor == b.actor
        && a.resource_id == b.resource_id
        && a.outcome == b.outcome
        && a.detail == b.detail
}

fn mark(e: &mut AuditEvent, n: u64) {
    match &mut e.detail {
        Value::Object(m) => {
            m.insert(OCCURRENCES.to_owned(), n.into());
        }
        // `mergeable` let only objects and null through.
        other => *other = serde_json::json!({ OCCURRENCES: n }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(at: i64, event: &str, client: &str, detail: Value) -> AuditEvent {
        AuditEvent {
            id: 0,
            at,
            event: event.into(),
            actor: Some(client.into()),
            client_id: Some(client.into()),
            resource_id: None,
            address: Some("127.0.0.1".into()),
            outcome: "ok".into(),
            detail,
        }
    }

    fn summary(events: &[AuditEvent]) -> Vec<(String, Option<u64>)> {
        events
            .iter()
            .map(|e| {
                (
                    format!("{} {}", e.event, e.client_id.as_deref().unwrap_or("")),
                    e.detail.get(OCCURRENCES).and_then(Value::as_u64),
                )
            })
            .collect()
    }

    #[test]
    fn identical_events_become_one_with_their_number_in_first_position() {
        let d = json!({"grant_type": "client_credentials"});
        let got = coalesce(vec![
            ev(100, "token.issued", "a", d.clone()),
            ev(100, "token.issued", "b", d.clone()),
            ev(100, "token.issued", "a", d.clone()),
            ev(100, "sign_in.failed", "a", Value::Null),
            ev(100, "token.issued", "a", d.clone()),
            ev(100, "sign_in.failed", "a", Value::Null),
        ]);
        assert_eq!(
            summary(&got),
            vec![
                ("token.issued a".into(), Some(3)),
                ("token.issued b".into(), None),
                ("sign_in.failed a".into(), Some(2)),
            ]
        );
        // The rest of the detail is kept; a null detail becomes an object.
        assert_eq!(got[0].detail["grant_type"], "client_credentials");
        assert_eq!(got[2].detail, json!({"occurrences": 2}));
        assert_eq!(got[1].detail, d, "a single event is left as it was");
    }

    #[test]
    fn events_differing_in_any_stored_field_stay_apart() {
        let base = ev(100, "token.issued", "a", json!({"resource": "r1"}));
        let variants: [fn(&mut AuditEvent); 8] = [
            |e| e.at = 101,
            |e| e.event = "token.refused".into(),
            |e| e.actor = None,
            |e| e.client_id = Some("b".into()),
            |e| e.resource_id = Some("weather".into()),
            |e| e.address = Some("::1".into()),
            |e| e.outcome = "refused".into(),
            |e| e.detail = json!({"resource": "r2"}),
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut other = base.clone();
            change(&mut other);
            let got = coalesce(vec![base.clone(), other]);
            assert_eq!(got.len(), 2, "variant {i} was merged");
            assert!(got.iter().all(|e| e.detail.get(OCCURRENCES).is_none()));
        }
    }

    #[test]
    fn details_that_cannot_carry_a_count_are_never_merged() {
        let got = coalesce(vec![
            ev(100, "client.reaped", "a", json!({"occurrences": 5})),
            ev(100, "client.reaped", "a", json!({"occurrences": 5})),
            ev(100, "x", "a", json!("text")),
            ev(100, "x", "a", json!("text")),
            ev(100, "y", "a", json!([1])),
            ev(100, "y", "a", json!([1])),
        ]);
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].detail, json!({"occurrences": 5}));
        assert_eq!(got[2].detail, json!("text"));
    }

    #[test]
    fn only_the_most_recent_distinct_events_are_compared() {
        // a, then WINDOW other distinct events, then a again: a has left
        // the window, so it is a new row; the event right after is merged.
        let mut batch = vec![ev(100, "e", "a", Value::Null)];
        for i in 0..WINDOW {
            batch.push(ev(100, "e", &format!("c{i}"), Value::Null));
        }
        batch.push(ev(100, "e", "a", Value::Null));
        batch.push(ev(100, "e", "a", Value::Null));
        let got = coalesce(batch);
        assert_eq!(got.len(), WINDOW + 2);
        assert_eq!(got[0].detail, Value::Null);
        assert_eq!(got[WINDOW + 1].detail, json!({"occurrences": 2}));
    }

    #[test]
    fn the_total_is_preserved_for_a_large_mixed_batch() {
        let mut batch = Vec::new();
        for i in 0..1000u32 {
            let client = format!("c{}", i % 7);
            batch.push(ev(
                100 + i64::from(i / 300),
                "token.issued",
                &client,
                json!({}),
            ));
        }
        let got = coalesce(batch);
        let total: u64 = got
            .iter()
            .map(|e| {
                e.detail
                    .get(OCCURRENCES)
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
            })
            .sum();
        assert_eq!(total, 1000);
        // 7 clients in each of the 4 seconds.
        assert_eq!(got.len(), 28);
    }

    #[test]
    fn an_empty_batch_stays_empty() {
        assert!(coalesce(Vec::new()).is_empty());
    }
}
