//! Signing keys: created on first start, sealed at rest with the
//! key-encryption key (KEK), parsed once, rotated without invalidating
//! tokens already issued, and reloaded from the store periodically so that
//! every instance on a shared database publishes the same JWKS.
//!
//! The configured `signing_alg` key signs access tokens. ID tokens are
//! signed with the algorithm the client registered as
//! `id_token_signed_response_alg`, RS256 when it registered none (the OIDC
//! default, which OIDC Discovery also requires): authgate keeps one key of
//! each algorithm in `ID_TOKEN_ALGS` (RS256, ES256, EdDSA), so a client's
//! registered choice never stops working when `signing_alg` changes. The
//! `signing_alg` key signs both kinds. Each algorithm's newest unretired
//! key signs; a rotation replaces all of them, and every replaced key stays
//! published until the tokens it signed have expired.

use crate::config::Settings;
use crate::config_error::{ConfigError, read_secret_file};
use arc_swap::ArcSwap;
use authgate_core::clock::{Clock, UnixTime};
use authgate_core::crypto_box::Kek;
use authgate_core::model::{SigningAlg, SigningKeyRecord};
use authgate_core::random::Random;
use authgate_core::signing::{ID_TOKEN_ALGS, SigningKey, VerifyingKey};
use authgate_store::{Store, StoreError};
use base64::Engine;
use std::path::Path;
use std::sync::Arc;

/// The keys in use right now. Swapped atomically as a whole.
pub struct KeySet {
    /// Signs access tokens (the configured `signing_alg`).
    pub active: Arc<SigningKey>,
    /// Sign ID tokens, one per algorithm in `ID_TOKEN_ALGS`.
    id_token: Vec<Arc<SigningKey>>,
    /// Every key still published (active and retired-but-not-removed).
    pub verifying: Vec<VerifyingKey>,
    /// Pre-rendered JWKS document.
    pub jwks_json: bytes::Bytes,
}

impl KeySet {
    /// Whether `kid` signs new tokens (access or ID tokens).
    pub fn signs(&self, kid: &str) -> bool {
        self.active.kid() == kid || self.id_token.iter().any(|k| k.kid() == kid)
    }

    /// The key that signs ID tokens with `alg`, if authgate has one.
    pub fn id_token_key(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.id_token.iter().find(|k| k.alg() == alg)
    }
}

pub struct KeyManager {
    current: ArcSwap<KeySet>,
    kek: Arc<Kek>,
    /// The configured `signing_alg` (access tokens).
    alg: SigningAlg,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "signing key {kid} cannot be opened with the configured key-encryption key (wrong key_encryption_key?)"
    )]
    Unseal { kid: String },
    #[error("signing key {kid} is corrupt: {reason}")]
    Corrupt { kid: String, reason: String },
    #[error("could not generate a signing key")]
    Generate,
}

/// Loads the KEK from config, or from/into the generated key file.
/// `sealed_keys` is how many signing keys the store already holds: when
/// there are any, a missing key file means the data directory was lost,
/// and a fresh KEK could never open them — so none is generated (it would
/// be left behind as a useless file that hides the real problem) and the
/// error says what to restore.
pub fn load_kek(settings: &Settings, sealed_keys: usize) -> Result<Kek, ConfigError> {
    let decode = |key: &str, s: &str| -> Result<Kek, ConfigError> {
        let s = s.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
            .map_err(|_| ConfigError::new(key, "is not base64"))?;
        Kek::from_bytes(&bytes)
            .map_err(|_| ConfigError::new(key, "must decode to exactly 32 bytes"))
    };
    if let Some(k) = &settings.raw.key_encryption_key {
        return decode("key_encryption_key", k);
    }
    // The key at fault in errors: the file's own key, or `data_dir` when
    // the file is the one generated there.
    let (key, path) = match &settings.raw.key_encryption_key_file {
        Some(f) => ("key_encryption_key_file", f.clone()),
        None => ("data_dir", settings.raw.data_dir.join("kek")),
    };
    if path.exists() {
        let s = read_secret_file(key, &path)?;
        return decode(key, &s);
    }
    if sealed_keys > 0 {
        return Err(ConfigError::new(
            "key_encryption_key_file",
            format!(
                "{} does not exist, but the database holds {sealed_keys} signing key(s) sealed \
                 with a key-encryption key. Restore that file from the backup made with the \
                 database (or point key_encryption_key_file at it). No new key was generated: \
                 it could not open the existing keys.",
                path.display()
            ),
        ));
    }
    generate_kek_file(key, &path)?;
    let s = read_secret_file(key, &path)?;
    decode(key, &s)
}

/// Writes a fresh random KEK, readable only by its owner; errors name `key`.
fn generate_kek_file(key: &str, path: &Path) -> Result<(), ConfigError> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ConfigError::new(key, format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut bytes = [0u8; 32];
    authgate_core::random::OsRandom::new()
        .fill(&mut bytes)
        .map_err(|e| ConfigError::new(key, format!("cannot generate a key: {e}")))?;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| ConfigError::new(key, format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| ConfigError::new(key, format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a new key-encryption key; back it up with the database");
    Ok(())
}

impl KeyManager {
    /// Loads keys from the store, creating the first ones if there are none:
    /// the `signing_alg` key, then the ID-token keys of the other algorithms.
    pub async fn start(
        store: &dyn Store,
        kek: Arc<Kek>,
        alg: SigningAlg,
        clock: &dyn Clock,
        rng: &dyn Random,
    ) -> Result<Self, KeyManagerError> {
        let now = clock.now();
        let mut records = store.list_signing_keys().await?;
        // The first key of each algorithm (on a new database, one from
        // before ID tokens had their own keys, or after `signing_alg`
        // changed). Other instances on the same database may be creating
        // it right now: only one key per algorithm is inserted, and
        // whichever won is what every instance reads back.
        let mut added = false;
        for needed in signing_algs(alg) {
            if current_record(&records, now, needed).is_none() {
                let (rec, _) = new_key_record(&kek, needed, now, rng)?;
                if store.insert_first_signing_key(&rec).await? {
                    tracing::info!(kid = %rec.kid, alg = needed.as_str(), "generated a signing key");
                }
                added = true;
            }
        }
        if added {
            records = store.list_signing_keys().await?;
        }
        let set = build_set(&kek, &records, now, alg)?;
        Ok(Self {
            current: ArcSwap::from_pointee(set),
            kek,
            alg,
        })
    }

    pub fn current(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }

    /// Re-reads keys from the store (rotation by another instance or the CLI).
    pub async fn reload(&self, store: &dyn Store, now: UnixTime) -> Result<(), KeyManagerError> {
        let records = store.list_signing_keys().await?;
        if records.is_empty() {
            return Ok(());
        }
        let cur = self.current.load();
        let chosen = Selection::of(&records, now, self.alg);
        let same = records
            .iter()
            .filter(|r| published(r, now))
            .map(|r| r.kid.as_str())
            .eq(cur.verifying.iter().map(|v| v.kid.as_str()))
            && chosen.access.as_deref() == Some(cur.active.kid())
            && chosen
                .id_token
                .iter()
                .map(String::as_str)
                .eq(cur.id_token.iter().map(|k| k.kid()));
        if same {
            return Ok(());
        }
        let set = build_set(&self.kek, &records, now, self.alg)?;
        tracing::info!(active_kid = %set.active.kid(), published = set.verifying.len(), "signing keys reloaded");
        self.current.store(Arc::new(set));
        Ok(())
    }
}

/// Adds a new `alg` key and new ID-token keys of the other algorithms,
/// and retires the old ones; retired keys stay published for
/// `publish_retired_for` seconds (the longest token lifetime). Returns the
/// new `alg` key's kid.
pub async fn rotate(
    store: &dyn Store,
    kek: &Kek,
    alg: SigningAlg,
    now: UnixTime,
    publish_retired_for: i64,
    rng: &dyn Random,
) -> Result<String, KeyManagerError> {
    // Every key is generated and sealed before anything is written, so a
    // failure leaves the old keys in charge.
    let (rec, _) = new_key_record(kek, alg, now, rng)?;
    let mut others = Vec::new();
    for extra in signing_algs(alg).into_iter().filter(|a| *a != alg) {
        others.push(new_key_record(kek, extra, now, rng)?.0);
    }
    store.insert_signing_key(&rec).await?;
    store
        .retire_signing_keys_except(&rec.kid, now, now + publish_retired_for)
        .await?;
    // Inserted after the retirement (which spares only one kid). Until
    // then the retired ID-token keys, still published, keep signing.
    for other in &others {
        store.insert_signing_key(other).await?;
    }
    Ok(rec.kid)
}

/// Removes keys whose publication window has passed.
pub async fn purge_removed(store: &dyn Store, now: UnixTime) -> Result<u64, KeyManagerError> {
    let mut n = 0;
    for r in store.list_signing_keys().await? {
        if r.remove_after.is_some_and(|t| t <= now) && store.delete_signing_key(&r.kid).await? {
            n += 1;
        }
    }
    Ok(n)
}

fn new_key_record(
    kek: &Kek,
    alg: SigningAlg,
    now: UnixTime,
    rng: &dyn Random,
) -> Result<(SigningKeyRecord, SigningKey), KeyManagerError> {
    let g = SigningKey::generate(alg, rng).map_err(|_| KeyManagerError::Generate)?;
    let sealed = kek
        .seal(rng, &g.pkcs8, g.key.kid().as_bytes())
        .map_err(|_| KeyManagerError::Generate)?;
    Ok((
        SigningKeyRecord {
            kid: g.key.kid().to_string(),
            alg,
            private_key_sealed: sealed,
            public_jwk: g.key.public_jwk().clone(),
            created_at: now,
            retired_at: None,
            remove_after: None,
        },
        g.key,
    ))
}

/// The algorithms that sign: `access_alg` first, then the ID-token ones.
fn signing_algs(access_alg: SigningAlg) -> Vec<SigningAlg> {
    let mut algs = vec![access_alg];
    for a in ID_TOKEN_ALGS {
        if !algs.contains(&a) {
            algs.push(a);
        }
    }
    algs
}

fn published(r: &SigningKeyRecord, now: UnixTime) -> bool {
    r.remove_after.is_none_or(|t| t > now)
}

/// Newest first, ties broken by kid so every instance picks the same key.
fn newest<'a>(records: impl Iterator<Item = &'a SigningKeyRecord>) -> Option<&'a SigningKeyRecord> {
    records.max_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.kid.cmp(&b.kid))
    })
}

/// The newest unretired key of `alg`.
fn current_record(
    records: &[SigningKeyRecord],
    now: UnixTime,
    alg: SigningAlg,
) -> Option<&SigningKeyRecord> {
    newest(
        records
            .iter()
            .filter(|r| r.alg == alg && r.retired_at.is_none() && published(r, now)),
    )
}

/// The key that signs with `alg`: the current one, else (a moment during a
/// rotation, or an operator who retired everything) the newest key of
/// `alg` still published.
fn signing_record(
    records: &[SigningKeyRecord],
    now: UnixTime,
    alg: SigningAlg,
) -> Option<&SigningKeyRecord> {
    current_record(records, now, alg)
        .or_else(|| newest(records.iter().filter(|r| r.alg == alg && published(r, now))))
}

/// Which keys sign: the same answer on every instance for the same records.
struct Selection {
    access: Option<String>,
    /// In `ID_TOKEN_ALGS` order.
    id_token: Vec<String>,
}

impl Selection {
    fn of(records: &[SigningKeyRecord], now: UnixTime, access_alg: SigningAlg) -> Self {
        // A database whose keys are all of another algorithm (signing_alg
        // changed, not yet restarted with it) keeps signing access tokens
        // with its newest key, as before the change.
        let access = signing_record(records, now, access_alg)
            .or_else(|| newest(records.iter().filter(|r| r.retired_at.is_none())))
            .or_else(|| newest(records.iter()))
            .map(|r| r.kid.clone());
        let id_token = ID_TOKEN_ALGS
            .into_iter()
            .filter_map(|a| signing_record(records, now, a).map(|r| r.kid.clone()))
            .collect();
        Self { access, id_token }
    }
}

fn build_set(
    kek: &Kek,
    records: &[SigningKeyRecord],
    now: UnixTime,
    access_alg: SigningAlg,
) -> Result<KeySet, KeyManagerError> {
    let chosen = Selection::of(records, now, access_alg);
    let active_kid = chosen.access.ok_or(KeyManagerError::Generate)?;
    let id_token_kids = chosen.id_token;
    let mut active = None;
    let mut id_token = Vec::new();
    let mut verifying = Vec::new();
    let mut jwks = Vec::new();
    for r in records
        .iter()
        .filter(|r| published(r, now) || r.kid == active_kid)
    {
        let der = kek
            .open(&r.private_key_sealed, r.kid.as_bytes())
            .map_err(|_| KeyManagerError::Unseal { kid: r.kid.clone() })?;
        let key = SigningKey::from_pkcs8(r.kid.clone(), r.alg, &der).map_err(|e| {
            KeyManagerError::Corrupt {
                kid: r.kid.clone(),
                reason: e.to_string(),
            }
        })?;
        verifying.push(key.verifying_key());
        jwks.push(key.public_jwk().clone());
        let key = Arc::new(key);
        if r.kid == active_kid {
            active = Some(key.clone());
        }
        if id_token_kids.contains(&r.kid) {
            id_token.push(key);
        }
    }
    let active = active.ok_or(KeyManagerError::Generate)?;
    id_token.sort_by_key(|k| id_token_kids.iter().position(|kid| kid == k.kid()));
    let doc = serde_json::json!({ "keys": jwks });
    Ok(KeySet {
        active,
        id_token,
        verifying,
        jwks_json: bytes::Bytes::from(doc.to_string()),
    })
}
