//! The outbox worker: claims due messages (a lease, so instances sharing
//! a database never send one twice at once), sends each over SMTP, and
//! marks it sent, or reschedules it with a doubling delay, or gives up
//! after `smtp.max_attempts` (audited).

use super::config::{SmtpSettings, SmtpTls};
use super::outbox::{self, MailContent};
use crate::Authority;
use authgate_core::clock::UnixTime;
use authgate_core::model::OutboxMessage;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// Messages claimed per round: bounded, so one round never holds many
/// leases while the server is slow.
pub const BATCH: i64 = 20;
/// How often the worker looks for due messages.
pub const POLL: Duration = Duration::from_secs(1);
/// The longest delay between attempts.
const MAX_DELAY_SECS: u64 = 3600;

/// The SMTP client of `[smtp]`.
pub fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match s.tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &s.host,
        )),
    }
    .map_err(|e| format!("smtp: {e}"))?;
    let mut builder = builder.port(s.port).timeout(Some(s.timeout));
    if let Some((user, pw)) = &s.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), pw.0.clone()));
    }
    Ok(builder.build())
}

/// Builds the message with lettre's builder: the name and subject become
/// encoded header values (a CR or LF in them cannot start a header), the
/// address is parsed, the bodies are a text/HTML alternative.
pub fn build(from: &Mailbox, c: &MailContent) -> Result<Message, String> {
    let address =
        c.to.parse()
            .map_err(|e| format!("recipient is not an address: {e}"))?;
    // Belt and braces: control characters have no place in a name or a
    // subject, whatever the encoder does with them.
    let clean = |s: &str| s.chars().filter(|ch| !ch.is_control()).collect::<String>();
    let to = Mailbox::new(c.to_name.as_deref().map(clean), address);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(clean(&c.subject))
        .multipart(MultiPart::alternative_plain_html(
            c.text.clone(),
            c.html.clone(),
        ))
        .map_err(|e| format!("message: {e}"))
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(base_secs: u64, attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let secs = base_secs.saturating_mul(1u64 << exp).min(MAX_DELAY_SECS);
    i64::try_from(secs).unwrap_or(3600)
}

/// One round: claims up to [`BATCH`] due messages and tries each once.
/// Returns how many were sent.
pub async fn drain_once(
    state: &Authority,
    smtp: &SmtpSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> usize {
    let now = state.clock.now();
    // A lease outlasts a whole batch of slow conversations: no other
    // worker takes a message this one is still sending.
    let lease = i64::try_from(smtp.timeout.as_secs())
        .unwrap_or(600)
        .saturating_mul(BATCH)
        .saturating_add(60);
    let claimed = match state.store.claim_mail(now, now + lease, BATCH).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "mail outbox: could not claim messages");
            return 0;
        }
    };
    let mut sent = 0;
    for m in claimed {
        if send_one(state, smtp, transport, &m).await {
            sent += 1;
        }
    }
    sent
}

async fn send_one(
    state: &Authority,
    smtp: &SmtpSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    m: &OutboxMessage,
) -> bool {
    let attempt = m.attempts + 1;
    let result = match outbox::open(state, m).and_then(|c| build(&smtp.from, &c)) {
        // A message that cannot be opened or built never will be: give
        // up at once rather than retry.
        Err(e) => {
            give_up(state, m, attempt, &e).await;
            return false;
        }
        Ok(msg) => transport.send(msg).await,
    };
    let now = state.clock.now();
    match result {
        Ok(_) => {
            if let Err(e) = state.store.mark_mail_sent(&m.id, now).await {
                tracing::error!(error = %e, mail_id = %m.id, "mail sent, but not marked sent");
            }
            tracing::info!(mail_id = %m.id, kind = %m.kind, attempt, "mail sent");
            true
        }
        Err(e) => {
            // The error names the server's answer or the connection
            // failure, never the message.
            let error = e.to_string();
            if attempt >= i64::from(smtp.max_attempts) || e.is_permanent() {
                give_up(state, m, attempt, &error).await;
            } else {
                let next: UnixTime = now + backoff(smtp.retry_base_secs, attempt);
                tracing::warn!(mail_id = %m.id, kind = %m.kind, attempt, error = %error, retry_at = next, "mail not sent; will retry");
                if let Err(e) = state
                    .store
                    .reschedule_mail(&m.id, attempt, next, &error)
                    .await
                {
                    tracing::error!(error = %e, mail_id = %m.id, "could not reschedule mail");
                }
            }
            false
        }
    }
}

async fn give_up(state: &Authority, m: &OutboxMessage, attempts: i64, error: &str) {
    tracing::error!(mail_id = %m.id, kind = %m.kind, attempts, error, "mail given up");
    if let Err(e) = state
        .store
        .give_up_mail(&m.id, attempts, state.clock.now(), error)
        .await
    {
        tracing::error!(error = %e, mail_id = %m.id, "could not mark mail given up");
    }
    crate::audit::audit_detail(
        state,
        "mail.given_up",
        Some(&m.recipient),
        None,
        None,
        None,
        "failed",
        json!({"mail_id": m.id, "kind": m.kind, "attempts": attempts, "error": error}),
    );
}

/// Drains the outbox until `stop` turns true.
pub async fn run(
    state: std::sync::Arc<Authority>,
    smtp: SmtpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let transport = match transport(&smtp) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "mail is not sent: the SMTP client could not be built");
            return;
        }
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // A full batch: more may be due, go on at once.
                while drain_once(&state, &smtp, &transport).await >= usize::try_from(BATCH).unwrap_or(20) {
                    if *stop.borrow() { break; }
                }
            }
            _ = stop.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(30, 1), 30);
        assert_eq!(backoff(30, 2), 60);
        assert_eq!(backoff(30, 3), 120);
        assert_eq!(backoff(30, 50), 3600);
    }

    #[test]
    fn a_newline_in_a_name_or_subject_adds_no_header() {
        let from: Mailbox = "authgate <id@example.com>".parse().unwrap();
        let c = MailContent {
            to: "ann@example.com".into(),
            to_name: Some("Ann\r\nBcc: eve@evil.example".into()),
            subject: "Hi\r\nBcc: eve@evil.example".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        let raw = String::from_utf8(build(&from, &c).unwrap().formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{headers}"
        );
        assert!(
            build(
                &from,
                &MailContent {
                    to: "not an address\r\nBcc: x@y.z".into(),
                    ..c
                }
            )
            .is_err()
        );
    }
}
