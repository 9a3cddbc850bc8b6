-- Issue 22: facts the dashboard keeps about the deployment (the
-- key-encryption key backup confirmed, each MCP server's last connection
-- check), by key; value is a JSON document.
CREATE TABLE dashboard_facts (
    key   TEXT    NOT NULL PRIMARY KEY,
    value TEXT    NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
