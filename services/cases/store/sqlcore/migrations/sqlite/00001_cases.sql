-- +goose Up
-- Persons, cases and their events: the record as a protojson document plus the columns
-- queries filter on. Same tables as on PostgreSQL (store/internal/sqlcore).
CREATE TABLE persons (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL DEFAULT 0, -- a tombstone: personal data erased
    create_us       INTEGER NOT NULL,
    update_us       INTEGER NOT NULL,
    doc             TEXT NOT NULL
) STRICT;
CREATE INDEX persons_organization ON persons (organization_id);

CREATE TABLE cases (
    id                TEXT PRIMARY KEY,
    person_id         TEXT NOT NULL DEFAULT '',
    organization_id   TEXT NOT NULL DEFAULT '',
    district_code     TEXT NOT NULL DEFAULT '',
    municipality_code TEXT NOT NULL DEFAULT '',
    category          INTEGER NOT NULL,
    phase             INTEGER NOT NULL,
    source            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    version           INTEGER NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0,
    create_us         INTEGER NOT NULL,
    update_us         INTEGER NOT NULL,
    content_hash      TEXT NOT NULL,
    doc               TEXT NOT NULL,
    UNIQUE (source, external_id)
) STRICT;
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_organization ON cases (organization_id);
CREATE INDEX cases_district ON cases (district_code);
CREATE INDEX cases_municipality ON cases (municipality_code);

CREATE TABLE case_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id   TEXT NOT NULL REFERENCES cases (id),
    create_us INTEGER NOT NULL,
    doc       TEXT NOT NULL
) STRICT;
CREATE INDEX case_events_case ON case_events (case_id, seq);

-- The audit log, append-only (triggers refuse updates and deletes).
CREATE TABLE audit_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us           INTEGER NOT NULL,
    subject           TEXT NOT NULL,
    organization_id   TEXT NOT NULL,
    method            TEXT NOT NULL,
    action            TEXT NOT NULL,
    record_type       TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    district_code     TEXT NOT NULL,
    municipality_code TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_district ON audit_events (district_code, id);
CREATE INDEX audit_events_record ON audit_events (record_id, id);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_events;
DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE persons;
