-- Counters of attempts per key (a hash of what is limited: client IP, account) and window.
CREATE TABLE rate_counters (
    key           BLOB NOT NULL,
    window_start  INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
