-- JRNI baskets and purchases, kept only as far as authentication needs them.
CREATE TABLE baskets (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    company_id      BIGINT NOT NULL,
    session_id      UUID NOT NULL REFERENCES sessions(id),
    user_id         UUID REFERENCES users(id),
    items           JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    checked_out_at  BIGINT
);
CREATE INDEX baskets_session ON baskets (session_id);

CREATE TABLE purchases (
    id             UUID PRIMARY KEY,
    long_id_hash   BYTEA NOT NULL UNIQUE,
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    company_id     BIGINT NOT NULL,
    basket_id      UUID NOT NULL UNIQUE REFERENCES baskets(id),
    user_id        UUID REFERENCES users(id),
    items          JSONB NOT NULL,
    client         JSONB NOT NULL,
    created_at     BIGINT NOT NULL
);
