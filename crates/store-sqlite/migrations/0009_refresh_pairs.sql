-- The pair a rotation hands out (sealed for retries, ~1 KB) is appended to a table of its own
-- instead of written into the old token's row: growing a row of this hash-ordered table split
-- its page at nearly every rotation (docs/benchmarks.md). Rows rotated before keep theirs in
-- `successor`; `refresh_records` reads both.
CREATE TABLE refresh_pairs (
    id    INTEGER PRIMARY KEY,
    pair  BLOB NOT NULL
);
-- No foreign key: checking one would look up `pair_id` in refresh_tokens at every insert into
-- refresh_pairs, and an index for that is one more page written per rotation. Only the
-- rotation writes both, in one transaction.
ALTER TABLE refresh_tokens ADD COLUMN pair_id INTEGER;

-- Refresh tokens as the store reads them: the columns of `RefreshRecord`.
CREATE VIEW refresh_records AS
SELECT r.hash, r.session_id, r.issued_at, r.expires_at, r.rotated_at,
       COALESCE(p.pair, r.successor) AS successor
FROM refresh_tokens r LEFT JOIN refresh_pairs p ON p.id = r.pair_id;
