-- Portcullis schema, PostgreSQL. Timestamps are BIGINT milliseconds since the epoch (UTC),
-- as in the SQLite store, so both stores hold identical values; secrets are stored only as
-- SHA-256 hashes (BYTEA).

CREATE TABLE tenants (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- brand URLs, password policy, signing algorithm, token lifetimes
    settings    JSONB NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE storefronts (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    code        TEXT NOT NULL,
    company_id  BIGINT,
    name        TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL,
    views       JSONB NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE apps (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    client_id       TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    key_hash        BYTEA NOT NULL UNIQUE,
    kinds           JSONB NOT NULL,
    grants          JSONB NOT NULL,
    redirect_hosts  JSONB NOT NULL,
    enabled         BOOLEAN NOT NULL
);

CREATE TABLE users (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    kind             TEXT NOT NULL,
    email            TEXT,
    email_norm       TEXT,
    username         TEXT,
    username_norm    TEXT,
    phone            TEXT,
    status           TEXT NOT NULL,
    password_hash    TEXT,
    password_origin  TEXT,
    store_id         UUID REFERENCES storefronts(id),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (tenant_id, kind, email_norm) WHERE email_norm IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (tenant_id, kind, username_norm) WHERE username_norm IS NOT NULL;

CREATE TABLE profiles (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    rules       JSONB NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE user_profiles (
    user_id     UUID NOT NULL REFERENCES users(id),
    profile_id  UUID NOT NULL REFERENCES profiles(id),
    PRIMARY KEY (user_id, profile_id)
);

CREATE TABLE sessions (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID NOT NULL REFERENCES tenants(id),
    user_id              UUID REFERENCES users(id),
    kind                 TEXT,
    app_id               UUID NOT NULL REFERENCES apps(id),
    store_id             UUID,
    store_view           TEXT,
    device_id            TEXT,
    created_at           BIGINT NOT NULL,
    last_used_at         BIGINT NOT NULL,
    idle_expires_at      BIGINT NOT NULL,
    absolute_expires_at  BIGINT NOT NULL,
    revoked_at           BIGINT,
    revoked_reason       TEXT,
    ip                   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_tenant ON sessions (tenant_id, created_at);

CREATE TABLE refresh_tokens (
    hash        BYTEA PRIMARY KEY,
    session_id  UUID NOT NULL REFERENCES sessions(id),
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT,
    successor   BYTEA
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    alg             TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    private_sealed  BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    not_after       BIGINT
);

-- The change feed every node reads to keep its caches true (revocations, key changes).
-- Writers take an advisory lock before inserting, so sequence order is commit order and a
-- reader that has seen seq N has seen everything before it.
CREATE TABLE changes (
    seq     BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    subject UUID
);
CREATE INDEX changes_at ON changes (at);

CREATE TABLE audit_events (
    id          UUID PRIMARY KEY,
    at          BIGINT NOT NULL,
    tenant_id   UUID,
    user_id     UUID,
    app_id      UUID,
    session_id  UUID,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
