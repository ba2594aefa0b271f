-- Opaque session tokens with a sliding lifetime (JRNI Auth-Token), stored as hashes.
CREATE TABLE opaque_tokens (
    hash          BYTEA PRIMARY KEY,
    session_id    UUID NOT NULL REFERENCES sessions(id),
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    idle_ttl_ms   BIGINT NOT NULL
);
CREATE INDEX opaque_tokens_session ON opaque_tokens (session_id);
