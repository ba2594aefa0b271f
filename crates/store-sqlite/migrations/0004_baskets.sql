-- JRNI baskets and purchases, kept only as far as authentication needs them.
CREATE TABLE baskets (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    company_id      INTEGER NOT NULL,
    session_id      TEXT NOT NULL REFERENCES sessions(id),
    user_id         TEXT REFERENCES users(id),
    items           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    checked_out_at  INTEGER
);
CREATE INDEX baskets_session ON baskets (session_id);

CREATE TABLE purchases (
    id             TEXT PRIMARY KEY,
    long_id_hash   BLOB NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    company_id     INTEGER NOT NULL,
    basket_id      TEXT NOT NULL UNIQUE REFERENCES baskets(id),
    user_id        TEXT REFERENCES users(id),
    items          TEXT NOT NULL,
    client         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
