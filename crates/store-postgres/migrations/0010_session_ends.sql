-- Housekeeping deletes sessions some time after their absolute end, oldest first; the
-- column is written once, at the login, so the index costs nothing when a session is used.
CREATE INDEX sessions_end ON sessions (absolute_expires_at);
