//! Signing keys: created on first start, sealed at rest with the
//! key-encryption key (KEK), parsed once, rotated without invalidating
//! tokens already issued, and reloaded from the store periodically so that
//! every instance on a shared database publishes the same JWKS.

use crate::config::{ConfigError, Settings};
use arc_swap::ArcSwap;
use authgate_core::clock::{Clock, UnixTime};
use authgate_core::crypto_box::Kek;
use authgate_core::model::{SigningAlg, SigningKeyRecord};
use authgate_core::random::Random;
use authgate_core::signing::{SigningKey, VerifyingKey};
use authgate_store::{Store, StoreError};
use base64::Engine;
use std::path::Path;
use std::sync::Arc;

/// The keys in use right now. Swapped atomically as a whole.
pub struct KeySet {
    pub active: Arc<SigningKey>,
    /// Every key still published (active and retired-but-not-removed).
    pub verifying: Vec<VerifyingKey>,
    /// Pre-rendered JWKS document.
    pub jwks_json: bytes::Bytes,
}

pub struct KeyManager {
    current: ArcSwap<KeySet>,
    kek: Arc<Kek>,
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
    let path = settings
        .raw
        .key_encryption_key_file
        .clone()
        .unwrap_or_else(|| settings.raw.data_dir.join("kek"));
    if path.exists() {
        let s = crate::config::read_secret_file("key_encryption_key_file", &path)?;
        return decode("key_encryption_key_file", &s);
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
    generate_kek_file(&path)?;
    let s = crate::config::read_secret_file("key_encryption_key_file", &path)?;
    decode("key_encryption_key_file", &s)
}

/// Writes a fresh random KEK, readable only by its owner.
fn generate_kek_file(path: &Path) -> Result<(), ConfigError> {
    use std::io::Write;
    let key = "key_encryption_key_file";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ConfigError::new(key, format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut bytes = [0u8; 32];
    authgate_core::random::OsRandom::new().fill(&mut bytes);
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
    /// Loads keys from the store, creating the first one if there is none.
    pub async fn start(
        store: &dyn Store,
        kek: Arc<Kek>,
        alg: SigningAlg,
        clock: &dyn Clock,
        rng: &dyn Random,
    ) -> Result<Self, KeyManagerError> {
        let mut records = store.list_signing_keys().await?;
        if records.is_empty() {
            // Another instance on the same database may be creating the
            // first key right now: only one key is inserted, and whichever
            // won is what every instance reads back.
            let rec = new_key_record(&kek, alg, clock.now(), rng)?;
            store.insert_first_signing_key(&rec.0).await?;
            records = store.list_signing_keys().await?;
        }
        let set = build_set(&kek, &records, clock.now())?;
        Ok(Self {
            current: ArcSwap::from_pointee(set),
            kek,
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
        let same = records
            .iter()
            .filter(|r| r.remove_after.is_none_or(|t| t > now))
            .map(|r| r.kid.as_str())
            .eq(cur.verifying.iter().map(|v| v.kid.as_str()))
            && active_record(&records, now).map(|r| r.kid.as_str()) == Some(cur.active.kid());
        if same {
            return Ok(());
        }
        let set = build_set(&self.kek, &records, now)?;
        tracing::info!(active_kid = %set.active.kid(), published = set.verifying.len(), "signing keys reloaded");
        self.current.store(Arc::new(set));
        Ok(())
    }
}

/// Adds a new key and retires the others; retired keys stay published for
/// `publish_retired_for` seconds (the longest token lifetime).
pub async fn rotate(
    store: &dyn Store,
    kek: &Kek,
    alg: SigningAlg,
    now: UnixTime,
    publish_retired_for: i64,
    rng: &dyn Random,
) -> Result<String, KeyManagerError> {
    let (rec, _) = new_key_record(kek, alg, now, rng)?;
    store.insert_signing_key(&rec).await?;
    store
        .retire_signing_keys_except(&rec.kid, now, now + publish_retired_for)
        .await?;
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
    let sealed = kek.seal(rng, &g.pkcs8, g.key.kid().as_bytes());
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

/// The signing key: the newest key that is not retired (ties broken by kid
/// so every instance picks the same one).
fn active_record(records: &[SigningKeyRecord], now: UnixTime) -> Option<&SigningKeyRecord> {
    records
        .iter()
        .filter(|r| r.retired_at.is_none() && r.remove_after.is_none_or(|t| t > now))
        .max_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.kid.cmp(&b.kid))
        })
        .or_else(|| records.iter().max_by_key(|r| r.created_at))
}

fn build_set(
    kek: &Kek,
    records: &[SigningKeyRecord],
    now: UnixTime,
) -> Result<KeySet, KeyManagerError> {
    let active_kid = active_record(records, now)
        .map(|r| r.kid.clone())
        .ok_or(KeyManagerError::Generate)?;
    let mut active = None;
    let mut verifying = Vec::new();
    let mut jwks = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.remove_after.is_none_or(|t| t > now) || r.kid == active_kid)
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
        if r.kid == active_kid {
            active = Some(Arc::new(key));
        }
    }
    let active = active.ok_or(KeyManagerError::Generate)?;
    let doc = serde_json::json!({ "keys": jwks });
    Ok(KeySet {
        active,
        verifying,
        jwks_json: bytes::Bytes::from(doc.to_string()),
    })
}
