-- Integer ids for users, for dialects whose clients expect them (JRNI), given on first need.
CREATE TABLE user_numbers (
    number   BIGSERIAL PRIMARY KEY,
    user_id  UUID NOT NULL UNIQUE REFERENCES users(id)
);
