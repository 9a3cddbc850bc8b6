-- Issue 17: dynamically registered and metadata document clients get the
-- client_credentials grant for an MCP server only when its operator opts
-- in. Off for every existing server (fail closed).
ALTER TABLE resources ADD COLUMN allow_dynamic_client_credentials BOOLEAN NOT NULL DEFAULT FALSE;
