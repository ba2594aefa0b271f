-- Integer ids for users, for dialects whose clients expect them (JRNI), given on first need.
CREATE TABLE user_numbers (
    number   INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  TEXT NOT NULL UNIQUE REFERENCES users(id)
);
