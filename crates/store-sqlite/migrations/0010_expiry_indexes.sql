-- Housekeeping deletes sessions some time after their absolute end, and refresh tokens
-- some time after they expire, oldest first. Both columns are written once, when the row
-- is inserted, so neither index costs a refresh anything but the new token's entry: the
-- session's and the old token's updates touch no indexed column.
CREATE INDEX sessions_end ON sessions (absolute_expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
