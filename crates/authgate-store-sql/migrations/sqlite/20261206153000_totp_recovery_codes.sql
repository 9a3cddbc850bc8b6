-- Issue 21: TOTP authenticators (RFC 6238) and recovery codes. The TOTP
-- secret is sealed with the key-encryption key by the application; recovery
-- codes are stored as SHA-256 hashes (they are high-entropy random codes).
CREATE TABLE totp_secrets (
    user_id        TEXT    NOT NULL PRIMARY KEY,
    id             TEXT    NOT NULL,
    secret_sealed  BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    confirmed_at   INTEGER,
    last_used_step INTEGER
) STRICT;

CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
