//! One-time links: first-run setup of the first administrator, and the
//! links where a person sets a (new) password.
//!
//! A link carries 256 random bits; only a hash is stored, in a session-like
//! record (the session table: it expires and is purged like a session, and
//! several instances share it). The stored hash is of a prefixed value, so
//! a link can never be replayed as a session cookie. Using a link deletes
//! it first: of two concurrent uses exactly one proceeds.

use crate::Authority;
use crate::manage::types::OneTimeLink;
use authgate_core::clock::UnixTime;
use authgate_core::model::Session;
use authgate_core::random::Random;
use authgate_core::secret;
use authgate_store::{Store, StoreError};
use serde_json::{Value, json};

/// How long the first-run setup link is valid.
pub const SETUP_LINK_TTL: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    AdminSetup,
    PasswordReset,
    /// Proves the person receives mail at the address the link names.
    EmailVerification,
    /// An invitation: the person sets their password, and having received
    /// the mail verifies their address.
    Invitation,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::AdminSetup => "admin_setup",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
            Purpose::Invitation => "invitation",
        }
    }
    pub fn path(self) -> &'static str {
        match self {
            Purpose::AdminSetup => "/admin/setup",
            // Links made before the reset page moved still work: the
            // router keeps `/password` too.
            Purpose::PasswordReset => "/password/reset",
            Purpose::EmailVerification => "/email/verify",
            Purpose::Invitation => "/invitation",
        }
    }
}

pub fn record_key(raw: &str) -> String {
    secret::hash(&format!("authgate-one-time-link:{raw}"))
}

/// Creates a link; returns its URL (the only place the secret appears).
pub async fn create_link(
    state: &Authority,
    purpose: Purpose,
    user_id: Option<&str>,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    create_link_in(
        state.store.as_ref(),
        &state.settings.issuer,
        state.rng.as_ref(),
        state.clock.now(),
        purpose,
        user_id,
        ttl,
    )
    .await
}

/// [`create_link`] on a store directly (the CLI, offline).
pub async fn create_link_in(
    store: &dyn Store,
    issuer: &str,
    rng: &dyn Random,
    now: UnixTime,
    purpose: Purpose,
    user_id: Option<&str>,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    let mut data = json!({"one_time_link": purpose.as_str(), "user_id": user_id});
    if purpose == Purpose::PasswordReset
        && let Some(id) = user_id
    {
        // Bound to the password as it is now: once any link (or the person)
        // sets a new one, every other reset link for them is dead.
        // (No such person: no mark, and the link is refused when used.)
        if let Some(user) = store.get_user(id).await? {
            data["password_state"] = json!(password_state(&user.password_hash));
        }
    }
    insert_link(store, issuer, rng, now, purpose, data, ttl).await
}

/// A fingerprint of a stored password hash (itself salted), so a link can
/// say which password it was made against without holding the hash.
fn password_state(password_hash: &str) -> String {
    secret::hash(&format!("authgate-password-state:{password_hash}"))
}

/// Whether a password link's data was made against `password_hash`, the
/// person's password now. A link without the mark (made before links
/// carried it) is refused: fail closed, the operator makes a new one.
pub fn password_unchanged(data: &Value, password_hash: &str) -> bool {
    data.get("password_state").and_then(Value::as_str)
        == Some(password_state(password_hash).as_str())
}

/// A link bound to a person *and* their address as it is now: an email
/// verification link verifies that address only, never one the person
/// changed to after it was sent.
pub async fn create_email_link(
    state: &Authority,
    purpose: Purpose,
    user_id: &str,
    email: &str,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    insert_link(
        state.store.as_ref(),
        &state.settings.issuer,
        state.rng.as_ref(),
        state.clock.now(),
        purpose,
        json!({"one_time_link": purpose.as_str(), "user_id": user_id, "email": email}),
        ttl,
    )
    .await
}

async fn insert_link(
    store: &dyn Store,
    issuer: &str,
    rng: &dyn Random,
    now: UnixTime,
    purpose: Purpose,
    data: Value,
    ttl: i64,
) -> Result<OneTimeLink, StoreError> {
    let raw = secret::generate(rng)?;
    let rec = Session {
        id_hash: record_key(&raw),
        user_id: None,
        csrf_token: secret::generate(rng)?,
        auth_time: None,
        created_at: now,
        expires_at: now + ttl,
        data,
    };
    store.insert_session(&rec).await?;
    Ok(OneTimeLink {
        url: format!("{issuer}{}?token={raw}", purpose.path()),
        expires_at: now + ttl,
    })
}

pub fn plausible(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link's record when it is live and for `purpose` (not consumed).
pub async fn peek(
    state: &Authority,
    raw: &str,
    purpose: Purpose,
) -> Result<Option<Value>, StoreError> {
    if !plausible(raw) {
        return Ok(None);
    }
    let rec = state
        .store
        .get_session(&record_key(raw), state.clock.now())
        .await?;
    Ok(rec
        .map(|r| r.data)
        .filter(|d| d.get("one_time_link").and_then(Value::as_str) == Some(purpose.as_str())))
}

/// Consumes the link: `Some(data)` for exactly one caller.
pub async fn take(
    state: &Authority,
    raw: &str,
    purpose: Purpose,
) -> Result<Option<Value>, StoreError> {
    let Some(data) = peek(state, raw, purpose).await? else {
        return Ok(None);
    };
    if state.store.delete_session(&record_key(raw)).await? {
        Ok(Some(data))
    } else {
        Ok(None)
    }
}

pub async fn has_admin(state: &Authority) -> Result<bool, StoreError> {
    store_has_admin(state.store.as_ref()).await
}

/// Whether an enabled administrator exists.
pub async fn store_has_admin(store: &dyn Store) -> Result<bool, StoreError> {
    Ok(crate::manage::roles::enabled_admins(store).await? > 0)
}

/// The file in the data directory that holds the first-run setup link.
pub const SETUP_LINK_FILE: &str = "setup-link";

/// Where the first-run setup link is written.
pub fn setup_link_path(state: &Authority) -> std::path::PathBuf {
    state.settings.raw.data_dir.join(SETUP_LINK_FILE)
}

/// First run: when there is no administrator, creates a setup link and
/// hands it to the operator. The link creates an administrator, so it is a
/// secret: it goes to `<data_dir>/setup-link` (mode 0600) and, when stderr
/// is a terminal, to the terminal; the log (often shipped elsewhere) only
/// says where the file is. Returns the link.
pub async fn announce(state: &Authority) -> Option<String> {
    match has_admin(state).await {
        Ok(true) => return None,
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not check for an administrator");
            return None;
        }
    }
    let link = match create_link(state, Purpose::AdminSetup, None, SETUP_LINK_TTL).await {
        Ok(link) => link,
        Err(e) => {
            tracing::error!(error = %e, "could not create the setup link");
            return None;
        }
    };
    let path = setup_link_path(state);
    match write_secret_file(&path, &format!("{}\n", link.url)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "no administrator yet: the one-time setup link (valid {} minutes) is in this file",
            SETUP_LINK_TTL / 60
        ),
        Err(e) => tracing::error!(
            path = %path.display(),
            error = %e,
            "no administrator yet, and the setup link file could not be written; run `authgate admin setup-link` or `authgate admin create`"
        ),
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "\nNo administrator yet. Create the first admin account within {} minutes at:\n\n  {}\n\n(single use; or run `authgate admin create --email you@example.com` offline)\n",
            SETUP_LINK_TTL / 60,
            link.url
        );
    }
    Some(link.url)
}

/// Writes `contents` to a new file readable by its owner only. A file left
/// at `path` (an older link) is removed first; the new one is created
/// exclusively, so a link planted at the path (a symlink to elsewhere) is
/// never followed.
pub fn write_secret_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Setup is done: the link is spent, so its file goes.
pub fn remove_setup_link_file(state: &Authority) {
    let path = setup_link_path(state);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "setup complete; removed the setup link file")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the setup link file")
        }
    }
}
