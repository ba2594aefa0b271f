-- JFW: auth keys with a fixed end, password expiry, devices with push tokens.
ALTER TABLE opaque_tokens ADD COLUMN sliding BOOLEAN NOT NULL DEFAULT TRUE;

ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
UPDATE users SET password_changed_at = updated_at;

CREATE TABLE devices (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    code         TEXT NOT NULL,
    kind         TEXT,
    name         TEXT,
    os           TEXT,
    app_version  TEXT,
    push_token   TEXT,
    tags         JSONB NOT NULL DEFAULT '[]',
    user_id      UUID REFERENCES users(id),
    session_id   UUID REFERENCES sessions(id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX devices_user ON devices (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX devices_session ON devices (session_id) WHERE session_id IS NOT NULL;
