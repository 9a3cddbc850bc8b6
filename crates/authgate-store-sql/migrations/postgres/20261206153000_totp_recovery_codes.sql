-- Issue 21: TOTP authenticators (RFC 6238) and recovery codes. The TOTP
-- secret is sealed with the key-encryption key by the application; recovery
-- codes are stored as SHA-256 hashes (they are high-entropy random codes).
CREATE TABLE totp_secrets (
    user_id        TEXT   NOT NULL PRIMARY KEY,
    id             TEXT   NOT NULL,
    secret_sealed  BYTEA  NOT NULL,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,
    last_used_step BIGINT
);

CREATE TABLE recovery_codes (
    user_id    TEXT   NOT NULL,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
