-- The change log (transactional outbox) every service keeps in its own schema.
-- Rows are inserted only by postgres.DB.WriteTx, under the log's advisory lock, so that
-- position order is commit order (see package changelog).

-- +goose Up
CREATE TABLE ponte_changelog (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    record_key  text        NOT NULL,
    op          text        NOT NULL CHECK (op IN ('upsert', 'delete')),
    payload     bytea,
    recorded_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE ponte_changelog;
