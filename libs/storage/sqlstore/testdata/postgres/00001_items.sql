-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
CREATE TABLE owners (id TEXT PRIMARY KEY);
CREATE TABLE items (
    id       TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners (id),
    qty      BIGINT NOT NULL CHECK (qty >= 0),
    start_us BIGINT NOT NULL,
    end_us   BIGINT NOT NULL,
    CONSTRAINT items_no_overlap EXCLUDE USING gist (owner_id WITH =, int8range(start_us, end_us) WITH &&)
);
-- +goose Down
DROP TABLE items;
DROP TABLE owners;
