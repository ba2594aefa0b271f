-- Pending password-reset requests per address (a hash of kind and address), kept for every
-- address asked about, known or not, so "already requested" answers say nothing about
-- whether an account exists.
CREATE TABLE reset_requests (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    key           BLOB NOT NULL,
    requested_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
