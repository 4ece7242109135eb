-- +goose Up
-- Mirroring: a record's origin is the upstream directory node it is mirrored from (its
-- name in --directory-mirror); empty for this node's own records, which are the only
-- ones its API writes.
ALTER TABLE records ADD COLUMN origin TEXT NOT NULL DEFAULT '';
CREATE INDEX records_origin ON records (origin) WHERE origin <> '';

-- The position of the last change of each upstream applied here, written in the
-- transaction that applies the change: a restart resumes after it, never twice.
CREATE TABLE mirror_cursors (
    upstream    TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    update_time TEXT NOT NULL -- RFC 3339 with nanoseconds, UTC
) STRICT;

-- +goose Down
DROP TABLE mirror_cursors;
DROP INDEX records_origin;
ALTER TABLE records DROP COLUMN origin;
