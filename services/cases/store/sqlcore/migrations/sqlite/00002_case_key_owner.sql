-- +goose Up
-- A case's source + external_id is unique per key owner (see the PostgreSQL migration).
-- SQLite cannot drop a table constraint: the cases table is rebuilt, and case_events
-- with it, since it references cases (renaming cases_new to cases rewrites the reference).
CREATE TABLE cases_new (
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
    key_owner         TEXT NOT NULL DEFAULT '',
    UNIQUE (key_owner, source, external_id)
) STRICT;
INSERT INTO cases_new (id, person_id, organization_id, district_code, municipality_code, category, phase, source,
    external_id, version, deleted, create_us, update_us, content_hash, doc, key_owner)
SELECT id, person_id, organization_id, district_code, municipality_code, category, phase, source,
    external_id, version, deleted, create_us, update_us, content_hash, doc, organization_id FROM cases;
CREATE TABLE case_events_new (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id   TEXT NOT NULL REFERENCES cases_new (id),
    create_us INTEGER NOT NULL,
    doc       TEXT NOT NULL
) STRICT;
INSERT INTO case_events_new (seq, case_id, create_us, doc) SELECT seq, case_id, create_us, doc FROM case_events;
DROP TABLE case_events;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;
ALTER TABLE case_events_new RENAME TO case_events;
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_organization ON cases (organization_id);
CREATE INDEX cases_district ON cases (district_code);
CREATE INDEX cases_municipality ON cases (municipality_code);
CREATE INDEX case_events_case ON case_events (case_id, seq);

-- +goose Down
SELECT 'irreversible: cases keys are per owner since 00002';
