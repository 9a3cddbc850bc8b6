-- Issue 21/19: how the person signed in (RFC 8176 amr, upstream connection,
-- organization) travels from the session through the code into the grant,
-- so refreshed access tokens keep saying it. Rows from before carry nothing
-- (an empty amr), which tokens omit rather than guess.
ALTER TABLE authorization_codes ADD COLUMN amr TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE authorization_codes ADD COLUMN idp TEXT;
ALTER TABLE authorization_codes ADD COLUMN org_id TEXT;
ALTER TABLE grants ADD COLUMN amr TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE grants ADD COLUMN idp TEXT;
ALTER TABLE grants ADD COLUMN org_id TEXT;
