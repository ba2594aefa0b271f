-- JFW: auth keys with a fixed end, password expiry, devices with push tokens.
ALTER TABLE opaque_tokens ADD COLUMN sliding INTEGER NOT NULL DEFAULT 1;

ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET password_changed_at = updated_at;

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    code         TEXT NOT NULL,
    kind         TEXT,
    name         TEXT,
    os           TEXT,
    app_version  TEXT,
    push_token   TEXT,
    tags         TEXT NOT NULL DEFAULT '[]',
    user_id      TEXT REFERENCES users(id),
    session_id   TEXT REFERENCES sessions(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX devices_user ON devices (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX devices_session ON devices (session_id) WHERE session_id IS NOT NULL;
