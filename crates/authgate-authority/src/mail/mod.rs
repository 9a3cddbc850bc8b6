//! Email (issue 21): the `[smtp]` configuration, the durable outbox every
//! message goes through, and the worker that sends it over SMTP.
//!
//! Pages compose a message (text and HTML, in the person's language) and
//! [`outbox::enqueue`] it; the worker of `authgate serve`
//! ([`worker::run`]) claims due messages with a lease, sends them with
//! lettre and retries failures with a growing delay, so a mail server
//! outage or a restart loses nothing. Messages are built with lettre's
//! builder: names and subjects are encoded header values, never pasted
//! into the message, so a newline in them cannot add a header.

pub mod config;
pub mod outbox;
pub mod worker;

pub use config::{SmtpConfig, SmtpSettings, SmtpTls};
pub use outbox::{MailContent, enqueue};
