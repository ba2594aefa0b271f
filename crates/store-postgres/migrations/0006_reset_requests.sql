-- Pending password-reset requests per address (a hash of kind and address), kept for every
-- address asked about, known or not, so "already requested" answers say nothing about
-- whether an account exists.
CREATE TABLE reset_requests (
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    key           BYTEA NOT NULL,
    requested_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
