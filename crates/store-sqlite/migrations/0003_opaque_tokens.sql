-- Opaque session tokens with a sliding lifetime (JRNI Auth-Token), stored as hashes.
CREATE TABLE opaque_tokens (
    hash          BLOB PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id),
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    idle_ttl_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX opaque_tokens_session ON opaque_tokens (session_id);
