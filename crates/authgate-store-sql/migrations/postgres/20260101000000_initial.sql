-- authgate schema for PostgreSQL.
-- Tables are created unqualified: in the first schema of search_path.
-- Scope and id lists are TEXT[], documents JSONB, times BIGINT unix seconds.

CREATE TABLE resources (
    id                                 TEXT    NOT NULL PRIMARY KEY,
    name                               TEXT    NOT NULL,
    uri                                TEXT    NOT NULL,
    scopes                             JSONB   NOT NULL,
    default_scopes                     TEXT[]  NOT NULL,
    access_token_ttl_secs              BIGINT  NOT NULL,
    refresh_token_idle_ttl_secs        BIGINT  NOT NULL,
    refresh_token_absolute_ttl_secs    BIGINT  NOT NULL,
    allow_dynamic_registration         BOOLEAN NOT NULL,
    allow_client_id_metadata_documents BOOLEAN NOT NULL,
    documentation_uri                  TEXT,
    created_at                         BIGINT  NOT NULL,
    updated_at                         BIGINT  NOT NULL
);

CREATE TABLE clients (
    client_id                      TEXT    NOT NULL PRIMARY KEY,
    kind                           TEXT    NOT NULL,
    metadata                       JSONB   NOT NULL,
    secret_hash                    TEXT,
    registration_access_token_hash TEXT,
    resources                      TEXT[]  NOT NULL,
    allowed_scopes                 TEXT[],
    blocked                        BOOLEAN NOT NULL,
    registration_fingerprint       TEXT,
    registration_count             BIGINT  NOT NULL,
    created_at                     BIGINT  NOT NULL,
    last_used_at                   BIGINT
);
CREATE INDEX clients_fingerprint ON clients (registration_fingerprint)
    WHERE registration_fingerprint IS NOT NULL;
CREATE INDEX clients_kind_used ON clients (kind, (coalesce(last_used_at, created_at)));
CREATE INDEX clients_created ON clients (created_at, client_id);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    -- lowercased email (computed by the application)
    email_key     TEXT    NOT NULL,
    name          TEXT,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL,
    is_admin      BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_key)
);

CREATE TABLE signing_keys (
    kid                TEXT   NOT NULL PRIMARY KEY,
    alg                TEXT   NOT NULL,
    private_key_sealed BYTEA  NOT NULL,
    public_jwk         JSONB  NOT NULL,
    created_at         BIGINT NOT NULL,
    retired_at         BIGINT,
    remove_after       BIGINT
);

CREATE TABLE authorization_codes (
    code_hash      TEXT   NOT NULL PRIMARY KEY,
    client_id      TEXT   NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT   NOT NULL,
    code_challenge TEXT   NOT NULL,
    resource_id    TEXT   NOT NULL,
    scopes         TEXT[] NOT NULL,
    user_id        TEXT   NOT NULL,
    auth_time      BIGINT NOT NULL,
    nonce          TEXT,
    grant_id       TEXT   NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX authorization_codes_client ON authorization_codes (client_id);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE grants (
    id           TEXT   NOT NULL PRIMARY KEY,
    client_id    TEXT   NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id      TEXT,
    resource_id  TEXT   NOT NULL,
    scopes       TEXT[] NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX grants_user ON grants (user_id, client_id, resource_id);
CREATE INDEX grants_client ON grants (client_id);

CREATE TABLE refresh_tokens (
    token_hash     TEXT   NOT NULL PRIMARY KEY,
    grant_id       TEXT   NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id      TEXT   NOT NULL,
    scopes         TEXT[] NOT NULL,
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    rotated_at     BIGINT,
    successor_hash TEXT,
    revoked_at     BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE consents (
    user_id     TEXT   NOT NULL,
    client_id   TEXT   NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    resource_id TEXT   NOT NULL,
    scopes      TEXT[] NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, resource_id)
);
CREATE INDEX consents_client ON consents (client_id);

CREATE TABLE access_token_revocations (
    jti        TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_token_revocations_expires ON access_token_revocations (expires_at);

CREATE TABLE sessions (
    id_hash    TEXT   NOT NULL PRIMARY KEY,
    user_id    TEXT,
    csrf_token TEXT   NOT NULL,
    auth_time  BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    data       JSONB  NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE nonces (
    key        TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    event       TEXT   NOT NULL,
    actor       TEXT,
    client_id   TEXT,
    resource_id TEXT,
    address     TEXT,
    outcome     TEXT   NOT NULL,
    detail      JSONB  NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
