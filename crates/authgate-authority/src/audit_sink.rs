//! The audit queue and its writer ([`AuditSink`]).
//!
//! Audit events are queued and written in batches by a background task so
//! that no request waits on an audit insert; identical events in a batch
//! are written as one row that counts them (`audit_coalesce`).
//!
//! Two kinds of event. Routine ones ([`ROUTINE_EVENTS`]: a token or code
//! issued, a sign-out, a connection check) may be dropped when the queue is
//! full, counted in `authgate_audit_dropped_total`. Every other event is a
//! security event (replays, sign-in failures and lockouts, admin, client,
//! consent and key changes, revocations, …; an event nobody classified is
//! one too) and is never dropped: when the queue is full it is held by the
//! request that raised it, whose response waits until the event is queued
//! (at most [`SECURITY_WAIT`]) or, failing that, written to the store
//! directly; if even that fails the response becomes a 503 and the event is
//! logged. A batch the store refuses is retried (its security events; the
//! routine ones are counted as dropped) rather than lost.

use authgate_core::model::AuditEvent;
use authgate_store::AuditStore;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{SendTimeoutError, TrySendError};

/// Most events written in one transaction.
const AUDIT_BATCH: usize = 1024;
/// How long the writer waits for more events after the first one of a batch.
/// Events are in the store this long after they happen, at most (plus the
/// write itself); on shutdown the queue is drained at once.
const AUDIT_LINGER: Duration = Duration::from_millis(50);
/// How long a security event waits for room in a full queue before it is
/// written to the store directly.
pub const SECURITY_WAIT: Duration = Duration::from_secs(2);
/// Pause before a batch the store refused is tried again.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Events that may be dropped under overload (each is also visible
/// elsewhere: tokens in the store and metrics, checks on the page that ran
/// them). Everything else is a security event.
pub const ROUTINE_EVENTS: &[&str] = &[
    "token.issued",
    "authorization_code.issued",
    "sign_out",
    "admin.resource.checked",
    // A tool call the gateway let through (refusals are
    // `gateway.tool_call.refused`, a security event).
    "gateway.tool_call",
];

/// Whether an event must never be dropped.
pub fn is_security_event(event: &str) -> bool {
    !ROUTINE_EVENTS.contains(&event)
}

/// Sender side of the audit queue.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEvent>,
    store: Arc<dyn AuditStore>,
    security_wait: Duration,
}

impl AuditSink {
    /// Starts the writer task with a queue of `capacity` events; returns the
    /// sink and the task (awaited at shutdown after the sink is dropped, so
    /// queued events are written).
    pub fn start(
        store: Arc<dyn AuditStore>,
        capacity: usize,
        security_wait: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<AuditEvent>(capacity.max(1));
        let task = tokio::spawn(write_batches(store.clone(), rx));
        (
            Self {
                tx,
                store,
                security_wait,
            },
            task,
        )
    }

    pub fn record(&self, ev: AuditEvent) {
        let ev = match self.tx.try_send(ev) {
            Ok(()) => return,
            Err(TrySendError::Full(ev) | TrySendError::Closed(ev)) => ev,
        };
        if !is_security_event(&ev.event) {
            metrics::counter!("authgate_audit_dropped_total").increment(1);
            tracing::warn!(event = %ev.event, "audit queue full; routine event dropped");
            return;
        }
        metrics::counter!("authgate_audit_security_overflow_total").increment(1);
        // In a request: its response waits for the event (`client_address`).
        let mut ev = Some(ev);
        let held = PENDING
            .try_with(|p| {
                if let Some(ev) = ev.take() {
                    p.borrow_mut().0.push((self.clone(), ev));
                }
            })
            .is_ok();
        if held {
            return;
        }
        // Outside a request (background jobs): a task waits for room.
        if let Some(ev) = ev {
            let sink = self.clone();
            tokio::spawn(async move {
                sink.persist(ev).await;
            });
        }
    }

    /// Queues a security event, waiting for room; after the wait writes it
    /// to the store directly. `false` (and the event in the log) only when
    /// the store refused it too.
    async fn persist(&self, ev: AuditEvent) -> bool {
        let ev = match self.tx.send_timeout(ev, self.security_wait).await {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(ev) | SendTimeoutError::Closed(ev)) => ev,
        };
        let summary = format!(
            "{} actor={:?} client={:?} resource={:?} address={:?} outcome={} at={}",
            ev.event, ev.actor, ev.client_id, ev.resource_id, ev.address, ev.outcome, ev.at
        );
        match self.store.append_audit_events(vec![ev]).await {
            Ok(()) => true,
            Err(e) => {
                // The log is the last place the event can go.
                tracing::error!(error = %e, event = %summary, "security audit event could not be stored");
                false
            }
        }
    }
}

/// The writer task: batches, coalesces and stores events; retries a batch
/// the store refused (its security events) instead of losing it.
async fn write_batches(store: Arc<dyn AuditStore>, mut rx: mpsc::Receiver<AuditEvent>) {
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    let mut retry: Vec<AuditEvent> = Vec::new();
    loop {
        if retry.is_empty() {
            if rx.recv_many(&mut batch, AUDIT_BATCH).await == 0 {
                return;
            }
            // Let a burst gather for a moment: one transaction of many
            // rows writes each database page once, where a transaction
            // per handful of rows rewrites the same pages again and
            // again (under token load this was a tenth of the server's
            // CPU). The task sleeps rather than waiting on the queue, so
            // events sent meanwhile wake nobody.
            if batch.len() < AUDIT_BATCH && !rx.is_closed() {
                tokio::time::sleep(AUDIT_LINGER).await;
                while batch.len() < AUDIT_BATCH {
                    match rx.try_recv() {
                        Ok(ev) => batch.push(ev),
                        Err(_) => break,
                    }
                }
            }
        } else {
            // The store refused the last batch: nothing new is taken until
            // it is written, so the queue fills and security events take
            // the direct path (and fail closed) instead of piling up here.
            tokio::time::sleep(RETRY_BACKOFF).await;
            batch.append(&mut retry);
        }
        // Identical events become one row with their number (see
        // audit_coalesce), which builds a new vector, so the batch is
        // handed over whole; the store takes it by value (no string
        // copies). Security events are kept aside until it succeeds.
        let events = std::mem::take(&mut batch);
        let security: Vec<AuditEvent> = events
            .iter()
            .filter(|e| is_security_event(&e.event))
            .cloned()
            .collect();
        let routine = events.len() - security.len();
        let events = crate::audit_coalesce::coalesce(events);
        if let Err(e) = store.append_audit_events(events).await {
            metrics::counter!("authgate_audit_dropped_total").increment(routine as u64);
            tracing::error!(error = %e, dropped_routine = routine, retrying = security.len(), "could not write audit events");
            retry = security;
            if rx.is_closed() && rx.is_empty() && retry.is_empty() {
                return;
            }
        }
    }
}

/// Security events a request raised while the queue was full; the
/// response waits for them. Dropped unhandled (the request was cancelled,
/// e.g. by its timeout): they are handed to tasks, never lost.
#[derive(Default)]
struct Pending(Vec<(AuditSink, AuditEvent)>);

impl Drop for Pending {
    fn drop(&mut self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            for (_, ev) in self.0.drain(..) {
                tracing::error!(event = %ev.event, actor = ?ev.actor, client = ?ev.client_id, "security audit event lost at shutdown");
            }
            return;
        };
        for (sink, ev) in self.0.drain(..) {
            rt.spawn(async move {
                sink.persist(ev).await;
            });
        }
    }
}

tokio::task_local! {
    static PENDING: RefCell<Pending>;
}

/// Runs `fut` (a request) and then persists the security events it raised
/// while the audit queue was full. `Err` when one could not be stored.
pub async fn with_audit_scope<F: std::future::Future>(fut: F) -> Result<F::Output, F::Output> {
    let (out, pending) = PENDING
        .scope(RefCell::new(Pending::default()), async move {
            let out = fut.await;
            let pending = PENDING.with(|p| std::mem::take(&mut p.borrow_mut().0));
            (out, pending)
        })
        .await;
    let mut all_stored = true;
    for (sink, ev) in pending {
        all_stored &= sink.persist(ev).await;
    }
    if all_stored { Ok(out) } else { Err(out) }
}

#[cfg(test)]
mod sink_tests {
    use super::*;
    use authgate_core::clock::UnixTime;
    use authgate_store::StoreResult;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    /// A store whose writes wait for a permit (a paused writer) and fail
    /// while `failures` lasts; it keeps every event it stored, counting
    /// coalesced rows as their number.
    #[derive(Default)]
    struct Fake {
        stored: Mutex<Vec<AuditEvent>>,
        gate: Option<Arc<Semaphore>>,
        failures: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl AuditStore for Fake {
        async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
            if let Some(g) = &self.gate {
                let _p = g.acquire().await;
            }
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(authgate_store::StoreError::Backend("down".into()));
            }
            self.stored.lock().unwrap().extend(events);
            Ok(())
        }
        async fn list_audit_events(
            &self,
            _: Option<&str>,
            _: Option<i64>,
            _: i64,
        ) -> StoreResult<Vec<AuditEvent>> {
            Ok(vec![])
        }
        async fn purge_audit_events(&self, _: UnixTime) -> StoreResult<u64> {
            Ok(0)
        }
    }

    impl Fake {
        fn count(&self, event: &str) -> u64 {
            self.stored
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.event == event)
                .map(|e| {
                    e.detail
                        .get(crate::audit_coalesce::OCCURRENCES)
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(1)
                })
                .sum()
        }
    }

    fn ev(event: &str, i: usize) -> AuditEvent {
        AuditEvent {
            id: 0,
            at: 100,
            event: event.into(),
            actor: Some(format!("user{i}")),
            client_id: None,
            resource_id: None,
            address: None,
            outcome: "refused".into(),
            detail: serde_json::Value::Null,
        }
    }

    async fn wait_for(fake: &Fake, event: &str, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while fake.count(event) < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[test]
    fn routine_and_security_events_are_told_apart() {
        assert!(!is_security_event("token.issued"));
        for e in [
            "refresh_token.replayed",
            "authorization_code.replayed",
            "sign_in.failed",
            "sign_in.lockout",
            "sign_in.locked_out",
            "admin.client.created",
            "admin.user.disabled",
            "client.registered",
            "key.rotated",
            "something.new",
        ] {
            assert!(is_security_event(e), "{e}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_routine_events_but_no_security_event() {
        let gate = Arc::new(Semaphore::new(0));
        let fake = Arc::new(Fake {
            gate: Some(gate.clone()),
            ..Fake::default()
        });
        let (sink, task) = AuditSink::start(fake.clone(), 4, Duration::from_millis(100));
        // The writer is paused: the queue (4) fills at once.
        let mut requests = Vec::new();
        for i in 0..40 {
            sink.record(ev("token.issued", i));
            // Security events raised inside requests (the response waits)
            // and outside them (background jobs).
            let s = sink.clone();
            requests.push(tokio::spawn(with_audit_scope(async move {
                s.record(ev("refresh_token.replayed", i));
            })));
            sink.record(ev("clients.reaped", i));
        }
        // Responses are held while the writer is paused (a few may have
        // found room as the writer took its first batch).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let held = requests.iter().filter(|r| !r.is_finished()).count();
        assert!(held >= 30, "only {held} responses waited");
        gate.add_permits(1_000_000);
        for r in requests {
            assert!(r.await.unwrap().is_ok());
        }
        wait_for(&fake, "refresh_token.replayed", 40).await;
        wait_for(&fake, "clients.reaped", 40).await;
        assert_eq!(fake.count("refresh_token.replayed"), 40);
        assert_eq!(fake.count("clients.reaped"), 40);
        assert!(
            fake.count("token.issued") < 40,
            "routine events were not dropped"
        );
        drop(sink);
        let _ = task.await;
    }

    #[tokio::test]
    async fn a_batch_the_store_refuses_is_retried_for_its_security_events() {
        let fake = Arc::new(Fake {
            failures: AtomicUsize::new(2),
            ..Fake::default()
        });
        let (sink, task) = AuditSink::start(fake.clone(), 64, Duration::from_millis(100));
        for i in 0..5 {
            sink.record(ev("sign_in.lockout", i));
            sink.record(ev("token.issued", i));
        }
        wait_for(&fake, "sign_in.lockout", 5).await;
        assert_eq!(fake.count("sign_in.lockout"), 5);
        drop(sink);
        let _ = task.await;
    }

    #[tokio::test]
    async fn a_security_event_that_cannot_be_stored_fails_the_request() {
        let fake = Arc::new(Fake {
            failures: AtomicUsize::new(usize::MAX),
            ..Fake::default()
        });
        let (sink, task) = AuditSink::start(fake.clone(), 1, Duration::from_millis(50));
        let s = sink.clone();
        // The first event fills the queue (the writer keeps failing on it).
        sink.record(ev("admin.user.created", 0));
        tokio::time::sleep(Duration::from_millis(100)).await;
        sink.record(ev("admin.user.created", 1));
        let r = with_audit_scope(async move { s.record(ev("admin.user.disabled", 2)) }).await;
        assert!(r.is_err(), "an unaudited request was let through");
        drop(sink);
        task.abort();
    }
}
