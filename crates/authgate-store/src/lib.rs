//! Storage ports of authgate: one trait per aggregate, implemented by each
//! backend (SQLite, PostgreSQL). Business code only sees [`Store`].
//!
//! Rules every backend follows (and [`conformance`] checks):
//! - secrets arrive already hashed; backends never see plaintext secrets;
//! - operations that decide security outcomes (code redemption, refresh
//!   rotation) are atomic: of two concurrent callers exactly one wins;
//! - lists come back in a stable order (creation time, then id).

use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::connection::{Connection, IdentityClaims, UserIdentity};
use authgate_core::model::*;

pub mod conformance;
mod mfa;

pub use mfa::MfaStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (resource id, client id, user email...).
    #[error("{0} already exists")]
    Conflict(String),
    /// The backend failed (connection, I/O, corrupt row). The message is for
    /// logs, never for clients.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// A secret to be stored (session id, code, link) could not be generated
/// because the random generator failed: nothing is written, and the request
/// fails like any backend failure (logged, `server_error`), never a panic.
impl From<authgate_core::random::RandomError> for StoreError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Inserts or replaces by `id`.
    async fn upsert_resource(&self, r: &Resource) -> StoreResult<()>;
    async fn get_resource(&self, id: &str) -> StoreResult<Option<Resource>>;
    async fn list_resources(&self) -> StoreResult<Vec<Resource>>;
    /// Deletes the resource; returns whether it existed.
    async fn delete_resource(&self, id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Fails with `Conflict` when the client id exists.
    async fn insert_client(&self, c: &Client) -> StoreResult<()>;
    /// Replaces an existing client; returns whether it existed.
    async fn update_client(&self, c: &Client) -> StoreResult<bool>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// One page of the clients `filter` matches, newest first (creation
    /// time, then id, both descending), and how many match in all.
    async fn list_clients_page(
        &self,
        filter: &ClientFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<ClientPage>;
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// Records use (last_used_at = now).
    async fn touch_client(&self, client_id: &str, now: UnixTime) -> StoreResult<()>;
    /// A dynamic client with this registration fingerprint, if any.
    async fn find_client_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<Client>>;
    async fn count_clients(&self, kind: ClientKind) -> StoreResult<i64>;
    /// Deletes dynamic clients never used since `unused_since` (by
    /// last_used_at, or created_at when never used). Returns how many.
    async fn reap_dynamic_clients(&self, unused_since: UnixTime) -> StoreResult<u64>;
    /// Deletes metadata document clients never used since `unused_since`
    /// (as [`ClientStore::reap_dynamic_clients`]); blocked ones stay (a
    /// block, of a client or a whole host, must outlive disuse).
    async fn reap_metadata_document_clients(&self, unused_since: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` when the id or email exists.
    async fn insert_user(&self, u: &User) -> StoreResult<()>;
    async fn update_user(&self, u: &User) -> StoreResult<bool>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// `email` is compared lowercased.
    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// One page of the people matching `q`, in creation order (then id),
    /// and how many match in all.
    async fn list_users_page(&self, q: &UserQuery) -> StoreResult<(Vec<User>, u64)>;
    /// Deletes the person with everything that signs in or acts as them:
    /// sessions, consents, unredeemed codes, grants and their refresh
    /// tokens, atomically. Returns whether the person existed.
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;
}

/// Which people a page of [`UserStore::list_users_page`] holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Matches email or name (case-insensitive substring).
    pub text: Option<String>,
    pub role: Option<Role>,
    /// `Some(true)`: disabled only; `Some(false)`: active only.
    pub disabled: Option<bool>,
    pub offset: u64,
    pub limit: u64,
}

#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()>;
    /// Inserts `k` only when there is no unretired signing key of `k.alg`,
    /// atomically; returns whether it was inserted. Instances starting
    /// together each try to create the first key of every algorithm they
    /// sign with (on an empty database, or one that lacks an algorithm):
    /// exactly one wins per algorithm, so they all sign with, and publish,
    /// the same keys.
    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool>;
    /// Every key, oldest first.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Marks every key other than `keep_kid` that is not yet retired as
    /// retired at `now`, leaving JWKS after `remove_after`.
    async fn retire_signing_keys_except(
        &self,
        keep_kid: &str,
        now: UnixTime,
        remove_after: UnixTime,
    ) -> StoreResult<()>;
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()>;
    /// Atomically marks the code consumed. Exactly one concurrent caller
    /// gets `Redeemed`; later callers get `Replayed`.
    async fn redeem_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<CodeRedemption>;
    /// Deletes codes that expired before `before`.
    async fn purge_codes(&self, before: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn insert_grant(&self, g: &Grant) -> StoreResult<()>;
    async fn get_grant(&self, id: &str) -> StoreResult<Option<Grant>>;
    async fn touch_grant(&self, id: &str, now: UnixTime) -> StoreResult<()>;
    /// Revokes the grant and every refresh token in it.
    async fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Revokes every grant of a user for a client and resource (Connected
    /// apps "Revoke"). Returns how many.
    async fn revoke_grants_for(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
        now: UnixTime,
    ) -> StoreResult<u64>;
    /// Revokes every live grant of a user, and their refresh tokens (after
    /// a password reset). Returns how many grants.
    async fn revoke_grants_for_user(&self, user_id: &str, now: UnixTime) -> StoreResult<u64>;
    /// Live (unrevoked) grants of a user, newest first.
    async fn list_grants_for_user(&self, user_id: &str) -> StoreResult<Vec<Grant>>;
}

#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()>;
    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Atomically: if `parent_hash` is unrotated and unrevoked, mark it
    /// rotated at `now` with `successor.token_hash` and insert `successor`
    /// (returns `Rotated`). If it was rotated already, returns
    /// `AlreadyRotated` and inserts nothing. Exactly one concurrent caller
    /// rotates.
    async fn rotate_refresh_token(
        &self,
        parent_hash: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<RotationOutcome>;
    /// Revokes one refresh token (RFC 7009); returns whether it existed.
    async fn revoke_refresh_token(&self, token_hash: &str, now: UnixTime) -> StoreResult<bool>;
}

#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Inserts or replaces the consent of (user, client, resource).
    async fn upsert_consent(&self, c: &Consent) -> StoreResult<()>;
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
    ) -> StoreResult<Option<Consent>>;
    async fn list_consents_for_user(&self, user_id: &str) -> StoreResult<Vec<Consent>>;
    async fn delete_consent(
        &self,
        user_id: &str,
        client_id: &str,
        resource_id: &str,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait AccessTokenRevocationStore: Send + Sync {
    /// Records that the access token `jti` is revoked until `expires_at`.
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()>;
    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Forgets revocations of tokens that expired before `before`.
    async fn purge_access_token_revocations(&self, before: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, s: &Session) -> StoreResult<()>;
    /// A session that has not expired at `now`.
    async fn get_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<Session>>;
    async fn update_session(&self, s: &Session) -> StoreResult<bool>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Deletes every session signed in as `user_id` (after a password
    /// reset). Returns how many.
    async fn delete_sessions_for_user(&self, user_id: &str) -> StoreResult<u64>;
    async fn purge_sessions(&self, before: UnixTime) -> StoreResult<u64>;
}

/// Single-use values with an expiry: `private_key_jwt` assertion `jti`s,
/// one-time setup links. `true` when newly recorded, `false` when seen.
#[async_trait]
pub trait NonceStore: Send + Sync {
    async fn use_nonce(&self, key: &str, expires_at: UnixTime, now: UnixTime) -> StoreResult<bool>;
}

/// Passkeys (WebAuthn credentials), by person.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// `Conflict` when the credential id is already registered (to anyone).
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()>;
    async fn get_passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRecord>>;
    /// A person's passkeys, oldest first.
    async fn list_passkeys_for_user(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;
    /// Saves the name, the credential (counter) and last use; `false` when
    /// the passkey (of that person) is gone.
    async fn update_passkey(&self, p: &PasskeyRecord) -> StoreResult<bool>;
    /// Removes one of `user_id`'s passkeys; `false` when there was none.
    async fn delete_passkey(&self, user_id: &str, id: &str) -> StoreResult<bool>;
}

/// The mail outbox: messages are queued in the same store as everything
/// else, so a mail server outage (or a restart) loses none; workers claim
/// them with a lease, so two workers never send one message at once.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// `Conflict` when the id exists.
    async fn enqueue_mail(&self, m: &OutboxMessage) -> StoreResult<()>;
    /// Claims up to `limit` messages due at `now` (not sent, not given up,
    /// `next_attempt_at <= now`, no lease or an expired one), oldest due
    /// first, leasing each until `lease_until`. Of concurrent callers,
    /// exactly one gets each message.
    async fn claim_mail(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks the message sent (and frees the lease); `false` when unknown.
    async fn mark_mail_sent(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Records a failed attempt: `attempts` as given, not before
    /// `next_attempt_at`, lease freed, `error` kept.
    async fn reschedule_mail(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: UnixTime,
        error: &str,
    ) -> StoreResult<bool>;
    /// Gives up on the message (it is never claimed again).
    async fn give_up_mail(
        &self,
        id: &str,
        attempts: i64,
        now: UnixTime,
        error: &str,
    ) -> StoreResult<bool>;
    async fn get_mail(&self, id: &str) -> StoreResult<Option<OutboxMessage>>;
    /// Deletes messages sent or given up before `before`. Returns how many.
    async fn purge_mail(&self, before: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events (batched by the caller off the request path). Takes
    /// them by value so a store can hand their strings to the driver
    /// without copying them (on SQLite that halves an audit row's
    /// allocations).
    async fn append_audit_events(&self, events: Vec<AuditEvent>) -> StoreResult<()>;
    /// Newest first; `query` matches event, actor, client or resource
    /// (substring); `before_id` pages backwards.
    async fn list_audit_events(
        &self,
        query: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let filter = AuditFilter {
            text: query.map(str::to_owned),
            ..AuditFilter::default()
        };
        self.find_audit_events(&filter, before_id, limit).await
    }
    /// The events `filter` matches, newest first; `before_id` pages
    /// backwards.
    async fn find_audit_events(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    async fn purge_audit_events(&self, before: UnixTime) -> StoreResult<u64>;
}

/// Organizations and their email domains (see `authgate_core::org`).
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Fails with `Conflict` when the id exists.
    async fn insert_org(&self, o: &authgate_core::org::Organization) -> StoreResult<()>;
    /// Replaces an existing organization; returns whether it existed.
    async fn update_org(&self, o: &authgate_core::org::Organization) -> StoreResult<bool>;
    async fn get_org(&self, id: &str) -> StoreResult<Option<authgate_core::org::Organization>>;
    /// Every organization, in creation order (then id).
    async fn list_orgs(&self) -> StoreResult<Vec<authgate_core::org::Organization>>;
    /// Deletes the organization and its domains; returns whether it existed.
    async fn delete_org(&self, id: &str) -> StoreResult<bool>;
    /// Fails with `Conflict` when the domain is claimed (by any organization).
    async fn insert_org_domain(&self, d: &authgate_core::org::OrgDomain) -> StoreResult<()>;
    /// Marks the domain verified; returns whether it exists.
    async fn mark_org_domain_verified(
        &self,
        domain: &str,
        method: authgate_core::org::DomainMethod,
        at: UnixTime,
    ) -> StoreResult<bool>;
    /// The domain's record (verified or not), by normalized domain.
    async fn get_org_domain(
        &self,
        domain: &str,
    ) -> StoreResult<Option<authgate_core::org::OrgDomain>>;
    /// An organization's domains, by domain.
    async fn list_org_domains(
        &self,
        org_id: &str,
    ) -> StoreResult<Vec<authgate_core::org::OrgDomain>>;
    async fn delete_org_domain(&self, domain: &str) -> StoreResult<bool>;
    /// Inserts or replaces the rule of `(resource_id, scope)`.
    async fn put_scope_group_rule(&self, r: &authgate_core::org::ScopeGroupRule)
    -> StoreResult<()>;
    /// A resource's rules, by scope.
    async fn list_scope_group_rules(
        &self,
        resource_id: &str,
    ) -> StoreResult<Vec<authgate_core::org::ScopeGroupRule>>;
    async fn delete_scope_group_rule(&self, resource_id: &str, scope: &str) -> StoreResult<bool>;
}

/// Upstream identity providers (issue 19).
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Fails with `Conflict` when the id exists.
    async fn insert_connection(&self, c: &Connection) -> StoreResult<()>;
    /// Replaces an existing connection (by id); returns whether it existed.
    async fn update_connection(&self, c: &Connection) -> StoreResult<bool>;
    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>>;
    /// Every connection, in creation order (then id).
    async fn list_connections(&self) -> StoreResult<Vec<Connection>>;
    /// Deletes the connection and every link through it; returns whether
    /// it existed.
    async fn delete_connection(&self, id: &str) -> StoreResult<bool>;
}

/// Links from upstream subjects to local people (issue 19). Deleting a
/// person or a connection deletes their links.
#[async_trait]
pub trait UserIdentityStore: Send + Sync {
    /// Fails with `Conflict` when (connection, subject) is linked already.
    async fn insert_user_identity(&self, i: &UserIdentity) -> StoreResult<()>;
    async fn get_user_identity(
        &self,
        connection_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UserIdentity>>;
    /// Stores what the upstream said this time and `last_seen_at = now`;
    /// returns whether the link existed.
    async fn touch_user_identity(
        &self,
        connection_id: &str,
        subject: &str,
        claims: &IdentityClaims,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// A person's links, in creation order (then connection, subject).
    async fn list_user_identities(&self, user_id: &str) -> StoreResult<Vec<UserIdentity>>;
    async fn delete_user_identity(&self, connection_id: &str, subject: &str) -> StoreResult<bool>;
}

/// One connection pool's use: `size` connections open, `idle` of them
/// free. `pool` names it (`writer`, `reader`; one pool is both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub pool: &'static str,
    pub size: u32,
    pub idle: usize,
}

/// Small facts the dashboard keeps about the deployment, by key: that an
/// operator confirmed the key-encryption key is backed up, each MCP
/// server's last connection check. Values are JSON documents.
#[async_trait]
pub trait FactStore: Send + Sync {
    /// Inserts or replaces the fact `key`.
    async fn put_fact(&self, key: &str, value: &serde_json::Value, at: UnixTime)
    -> StoreResult<()>;
    async fn get_fact(&self, key: &str) -> StoreResult<Option<Fact>>;
    /// Every fact whose key starts with `prefix`, by key.
    async fn list_facts(&self, prefix: &str) -> StoreResult<Vec<Fact>>;
}

/// A fact of [`FactStore`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub key: String,
    pub value: serde_json::Value,
    /// When it was last put.
    pub at: UnixTime,
}

/// Which clients [`ClientStore::list_clients_page`] returns; every field
/// set narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFilter {
    /// A case-insensitive substring of the client id, its name
    /// (`client_name`) or its redirect URIs (so a host finds its clients).
    pub text: Option<String>,
    pub kind: Option<ClientKind>,
    pub blocked: Option<bool>,
}

/// A page of clients and how many match the filter in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientPage {
    pub items: Vec<Client>,
    pub total: i64,
}

/// Which events [`AuditStore::find_audit_events`] returns; every field set
/// narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// A case-insensitive substring of the event, actor, client or
    /// resource.
    pub text: Option<String>,
    /// The event name, or its start (`sign_in.` finds every sign-in event).
    pub event_prefix: Option<String>,
    /// The actor is one of these (an email and a user id name one person).
    pub actors: Option<Vec<String>>,
    /// The outcome (as recorded) is one of these.
    pub outcomes: Option<Vec<String>>,
    /// At or after.
    pub from: Option<UnixTime>,
    /// Before.
    pub until: Option<UnixTime>,
}

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    ResourceStore
    + ClientStore
    + UserStore
    + SigningKeyStore
    + AuthorizationCodeStore
    + GrantStore
    + RefreshTokenStore
    + ConsentStore
    + AccessTokenRevocationStore
    + SessionStore
    + NonceStore
    + AuditStore
    + FactStore
    + OrganizationStore
    + PasskeyStore
    + MfaStore
    + OutboxStore
    + ConnectionStore
    + UserIdentityStore
    + Send
    + Sync
    + 'static
{
    /// Cheap round trip for /readyz.
    async fn ping(&self) -> StoreResult<()>;
    /// Backend name for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// The connection pools' use now, for metrics (none by default).
    fn pool_usage(&self) -> Vec<PoolUsage> {
        Vec::new()
    }

    /// A refresh token, the grant it names and its person's standing
    /// (whether they are active, the sign-up hold), in one read where the
    /// backend can (the refresh grant's hot path). The default reads them
    /// one by one.
    async fn get_refresh_token_context(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenContext>> {
        let Some(token) = self.get_refresh_token(token_hash).await? else {
            return Ok(None);
        };
        let grant = self.get_grant(&token.grant_id).await?;
        let subject = match grant.as_ref().and_then(|g| g.user_id.as_deref()) {
            None => None,
            Some(uid) => self.get_user(uid).await?.map(|u| u.standing()),
        };
        Ok(Some(RefreshTokenContext {
            token,
            grant,
            subject,
        }))
    }
}
