-- Issue 21: self sign-up. An account the person created themselves (it
-- must verify its email before a first consent), and each MCP server's
-- sign-up rule (`inherit` the instance's `[signup]`, `open`, `closed`).
ALTER TABLE users ADD COLUMN signed_up BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE resources ADD COLUMN signup TEXT NOT NULL DEFAULT 'inherit'
    CHECK (signup IN ('inherit', 'open', 'closed'));
