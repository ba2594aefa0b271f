-- Password reset tokens (hashes only) and the outbox of e-mails.

CREATE TABLE password_resets (
    hash        BYTEA PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id),
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    app_id      UUID NOT NULL REFERENCES apps(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    voided_at   BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

CREATE TABLE outbox (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    -- sealed MailRequest; NULL once sent
    payload          BYTEA,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, kind, created_at);
