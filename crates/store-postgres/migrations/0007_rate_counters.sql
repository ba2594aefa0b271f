-- Counters of attempts per key (a hash of what is limited: client IP, account) and window.
CREATE TABLE rate_counters (
    key           BYTEA NOT NULL,
    window_start  BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
