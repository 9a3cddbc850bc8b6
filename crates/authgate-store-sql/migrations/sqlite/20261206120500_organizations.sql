-- Issue 19: organizations, their email domains (unique across
-- organizations; verified by DNS TXT or by an operator) and group -> scope
-- rules per MCP server. Membership is by verified email domain.
CREATE TABLE organizations (
    id                     TEXT    NOT NULL PRIMARY KEY,
    name                   TEXT    NOT NULL,
    connection_ids         TEXT    NOT NULL,
    forbid_local_passwords INTEGER NOT NULL,
    require_mfa            INTEGER NOT NULL,
    disabled               INTEGER NOT NULL,
    created_at             INTEGER NOT NULL
) STRICT;

CREATE TABLE org_domains (
    domain             TEXT    NOT NULL PRIMARY KEY,
    org_id             TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    verification_token TEXT    NOT NULL,
    verified_at        INTEGER,
    method             TEXT,
    created_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX org_domains_org ON org_domains (org_id);

CREATE TABLE scope_group_rules (
    resource_id TEXT NOT NULL,
    scope       TEXT NOT NULL,
    groups      TEXT NOT NULL,
    PRIMARY KEY (resource_id, scope)
) STRICT;
