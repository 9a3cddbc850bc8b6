//! Queuing a message: it is stored (sealed with the key-encryption key)
//! before anything is sent, so the request that queued it does not wait
//! for the mail server and an outage loses nothing.

use crate::Authority;
use authgate_core::model::OutboxMessage;
use authgate_core::secret;
use authgate_store::StoreError;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A composed message, as the outbox keeps it (sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailContent {
    pub to: String,
    /// The recipient's name, for the `To` header (encoded by lettre).
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Additional data of the seal: a sealed payload opens only as the
/// message it was queued as.
fn seal_context(id: &str) -> Vec<u8> {
    format!("authgate mail outbox v1 {id}").into_bytes()
}

/// Queues `content` to be sent as soon as the worker can. Every payload
/// is sealed: links in them are secrets (a password reset link is as
/// good as the password), and notices cost nothing extra to seal.
pub async fn enqueue(
    state: &Authority,
    kind: &str,
    content: &MailContent,
) -> Result<String, StoreError> {
    let id = secret::generate_id(state.rng.as_ref())?;
    let json = serde_json::to_vec(content).map_err(|e| StoreError::Backend(e.to_string()))?;
    let sealed = state
        .kek
        .seal(state.rng.as_ref(), &json, &seal_context(&id))
        .map_err(|e| StoreError::Backend(format!("mail: {e}")))?;
    let now = state.clock.now();
    state
        .store
        .enqueue_mail(&OutboxMessage {
            id: id.clone(),
            kind: kind.to_owned(),
            recipient: content.to.clone(),
            payload: base64::engine::general_purpose::STANDARD.encode(sealed),
            sealed: true,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            sent_at: None,
            failed_at: None,
            last_error: None,
            created_at: now,
        })
        .await?;
    tracing::info!(mail_id = %id, kind, "mail queued");
    Ok(id)
}

/// The message a stored row holds (opened when sealed).
pub fn open(state: &Authority, m: &OutboxMessage) -> Result<MailContent, String> {
    let bytes = if m.sealed {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&m.payload)
            .map_err(|e| format!("payload is not base64: {e}"))?;
        state
            .kek
            .open(&sealed, &seal_context(&m.id))
            .map_err(|e| e.to_string())?
    } else {
        m.payload.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).map_err(|e| format!("payload is not a message: {e}"))
}
