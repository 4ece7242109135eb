-- +goose Up
CREATE TABLE owners (id TEXT PRIMARY KEY) STRICT;
CREATE TABLE items (
    id       TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners (id),
    qty      INTEGER NOT NULL CHECK (qty >= 0),
    start_us INTEGER NOT NULL,
    end_us   INTEGER NOT NULL
) STRICT;
-- +goose Down
DROP TABLE items;
DROP TABLE owners;
