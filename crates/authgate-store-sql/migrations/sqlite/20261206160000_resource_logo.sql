-- Issue 21: an MCP server's logo, shown on the consent page.
ALTER TABLE resources ADD COLUMN logo_uri TEXT;
