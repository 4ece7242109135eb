-- The change log (transactional outbox) of the embedded store.
-- Rows are inserted only by sqlite.DB.WriteTx on the single writer connection, so that
-- position order is commit order (see package changelog). AUTOINCREMENT: positions are
-- never reused, even if the newest rows are deleted.

-- +goose Up
CREATE TABLE ponte_changelog (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    topic       TEXT    NOT NULL,
    record_key  TEXT    NOT NULL,
    op          TEXT    NOT NULL CHECK (op IN ('upsert', 'delete')),
    payload     BLOB,
    recorded_at INTEGER NOT NULL -- Unix microseconds, UTC
);

-- +goose Down
DROP TABLE ponte_changelog;
