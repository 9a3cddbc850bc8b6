-- Issue 19: upstream identity providers, and the links from their
-- subjects to local people (never by email alone).
CREATE TABLE connections (
    id                    TEXT    NOT NULL PRIMARY KEY,
    kind                  TEXT    NOT NULL CHECK (kind IN ('oidc', 'github', 'saml')),
    display_name          TEXT    NOT NULL,
    preset                TEXT,
    -- kind-specific settings, nothing secret
    config                JSONB   NOT NULL,
    -- secrets sealed with the key-encryption key
    secret_sealed         BYTEA,
    -- array of lower-cased domains
    trusted_email_domains JSONB   NOT NULL,
    show_on_login         BOOLEAN NOT NULL,
    disabled              BOOLEAN NOT NULL,
    created_at            BIGINT  NOT NULL
);
CREATE INDEX connections_created ON connections (created_at, id);

CREATE TABLE user_identities (
    connection_id TEXT   NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    subject       TEXT   NOT NULL,
    user_id       TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- what the upstream last said: email, name, groups
    claims        JSONB  NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id, created_at);
