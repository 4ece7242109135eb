-- +goose Up
-- Search runs on the directory's in-memory index (package searchindex), which reads the
-- documents: the columns the SQL search used to filter on are no longer read.
ALTER TABLE records DROP COLUMN search_text;
ALTER TABLE records DROP COLUMN languages;
ALTER TABLE records DROP COLUMN target_groups;
ALTER TABLE records DROP COLUMN latitude;
ALTER TABLE records DROP COLUMN longitude;

-- +goose Down
ALTER TABLE records ADD COLUMN search_text text NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN languages text NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN target_groups text NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN latitude double precision;
ALTER TABLE records ADD COLUMN longitude double precision;
