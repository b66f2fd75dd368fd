-- Auth0's last_login and logins_count on users, folded by users.v1 from auth.login_succeeded
-- (introduced with this migration: no earlier event needs replaying).
ALTER TABLE users ADD COLUMN last_login TEXT;
ALTER TABLE users ADD COLUMN logins_count BIGINT NOT NULL DEFAULT 0;
