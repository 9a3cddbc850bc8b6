-- Issue 22: a person's role (user, auditor, admin) replaces the
-- administrator flag. Existing administrators stay administrators.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CHECK (role IN ('user', 'auditor', 'admin'));
UPDATE users SET role = 'admin' WHERE is_admin;
ALTER TABLE users DROP COLUMN is_admin;
CREATE INDEX users_created ON users (created_at, id);
