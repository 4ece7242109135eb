-- +goose Up
ALTER TABLE items ADD COLUMN note text;
CREATE TABLE tags (
    id      text PRIMARY KEY,
    item_id text NOT NULL REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED
);

-- +goose Down
DROP TABLE tags;
ALTER TABLE items DROP COLUMN note;
