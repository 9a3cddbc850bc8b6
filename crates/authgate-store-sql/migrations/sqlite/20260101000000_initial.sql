-- authgate schema for SQLite.
-- Lists and JSON documents are JSON text, booleans 0/1, times unix seconds.

CREATE TABLE resources (
    id                                 TEXT    NOT NULL PRIMARY KEY,
    name                               TEXT    NOT NULL,
    uri                                TEXT    NOT NULL,
    scopes                             TEXT    NOT NULL,
    default_scopes                     TEXT    NOT NULL,
    access_token_ttl_secs              INTEGER NOT NULL,
    refresh_token_idle_ttl_secs        INTEGER NOT NULL,
    refresh_token_absolute_ttl_secs    INTEGER NOT NULL,
    allow_dynamic_registration         INTEGER NOT NULL,
    allow_client_id_metadata_documents INTEGER NOT NULL,
    documentation_uri                  TEXT,
    created_at                         INTEGER NOT NULL,
    updated_at                         INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    client_id                      TEXT    NOT NULL PRIMARY KEY,
    kind                           TEXT    NOT NULL,
    metadata                       TEXT    NOT NULL,
    secret_hash                    TEXT,
    registration_access_token_hash TEXT,
    resources                      TEXT    NOT NULL,
    allowed_scopes                 TEXT,
    blocked                        INTEGER NOT NULL,
    registration_fingerprint       TEXT,
    registration_count             INTEGER NOT NULL,
    created_at                     INTEGER NOT NULL,
    last_used_at                   INTEGER
) STRICT;
CREATE INDEX clients_fingerprint ON clients (registration_fingerprint)
    WHERE registration_fingerprint IS NOT NULL;
CREATE INDEX clients_kind_used ON clients (kind, coalesce(last_used_at, created_at));
CREATE INDEX clients_created ON clients (created_at, client_id);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    -- lowercased email (Unicode-aware, computed by the application)
    email_key     TEXT    NOT NULL,
    name          TEXT,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL,
    is_admin      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE signing_keys (
    kid                TEXT    NOT NULL PRIMARY KEY,
    alg                TEXT    NOT NULL,
    private_key_sealed BLOB    NOT NULL,
    public_jwk         TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER,
    remove_after       INTEGER
) STRICT;

CREATE TABLE authorization_codes (
    code_hash      TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    auth_time      INTEGER NOT NULL,
    nonce          TEXT,
    grant_id       TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER
) STRICT;
CREATE INDEX authorization_codes_client ON authorization_codes (client_id);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE grants (
    id           TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id      TEXT,
    resource_id  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL,
    auth_time    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX grants_user ON grants (user_id, client_id, resource_id);
CREATE INDEX grants_client ON grants (client_id);

CREATE TABLE refresh_tokens (
    token_hash     TEXT    NOT NULL PRIMARY KEY,
    grant_id       TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id      TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    rotated_at     INTEGER,
    successor_hash TEXT,
    revoked_at     INTEGER
) STRICT;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE consents (
    user_id     TEXT    NOT NULL,
    client_id   TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    resource_id TEXT    NOT NULL,
    scopes      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id, resource_id)
) STRICT;
CREATE INDEX consents_client ON consents (client_id);

CREATE TABLE access_token_revocations (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX access_token_revocations_expires ON access_token_revocations (expires_at);

CREATE TABLE sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT,
    csrf_token TEXT    NOT NULL,
    auth_time  INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    data       TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE nonces (
    key        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    actor       TEXT,
    client_id   TEXT,
    resource_id TEXT,
    address     TEXT,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at);
