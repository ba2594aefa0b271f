-- Portcullis schema, SQLite. Timestamps are INTEGER milliseconds since the epoch (UTC);
-- identifiers are UUID text; secrets are stored only as SHA-256 hashes (BLOB).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- brand URLs, password policy, signing algorithm, token lifetimes (JSON)
    settings    TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE storefronts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code        TEXT NOT NULL,
    company_id  INTEGER,
    name        TEXT NOT NULL,
    is_default  INTEGER NOT NULL,
    views       TEXT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE apps (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    client_id       TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    key_hash        BLOB NOT NULL UNIQUE,
    kinds           TEXT NOT NULL,
    grants          TEXT NOT NULL,
    redirect_hosts  TEXT NOT NULL,
    enabled         INTEGER NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    kind            TEXT NOT NULL,
    email           TEXT,
    email_norm      TEXT,
    username        TEXT,
    username_norm   TEXT,
    phone           TEXT,
    status          TEXT NOT NULL,
    password_hash   TEXT,
    password_origin TEXT,
    store_id        TEXT REFERENCES storefronts(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (tenant_id, kind, email_norm) WHERE email_norm IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (tenant_id, kind, username_norm) WHERE username_norm IS NOT NULL;

CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    rules       TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE user_profiles (
    user_id     TEXT NOT NULL REFERENCES users(id),
    profile_id  TEXT NOT NULL REFERENCES profiles(id),
    PRIMARY KEY (user_id, profile_id)
);

CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    user_id              TEXT REFERENCES users(id),
    kind                 TEXT,
    app_id               TEXT NOT NULL REFERENCES apps(id),
    store_id             TEXT,
    store_view           TEXT,
    device_id            TEXT,
    created_at           INTEGER NOT NULL,
    last_used_at         INTEGER NOT NULL,
    idle_expires_at      INTEGER NOT NULL,
    absolute_expires_at  INTEGER NOT NULL,
    revoked_at           INTEGER,
    revoked_reason       TEXT,
    ip                   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_tenant ON sessions (tenant_id, created_at);

CREATE TABLE refresh_tokens (
    hash        BLOB PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated_at  INTEGER,
    successor   BLOB
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    alg             TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    private_sealed  BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    not_after       INTEGER
);

-- The change feed every node polls to keep its caches true (revocations, key changes).
CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT
);
CREATE INDEX changes_at ON changes (at);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    at          INTEGER NOT NULL,
    tenant_id   TEXT,
    user_id     TEXT,
    app_id      TEXT,
    session_id  TEXT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
