-- +goose Up
ALTER TABLE items ADD COLUMN note text;

-- +goose Down
ALTER TABLE items DROP COLUMN note;
