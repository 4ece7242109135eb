-- +goose Up
-- Person ids are unique per owner (see the PostgreSQL migration). SQLite cannot change
-- a primary key: the persons table is rebuilt (nothing references it).
CREATE TABLE persons_new (
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL DEFAULT 0, -- a tombstone: personal data erased
    create_us       INTEGER NOT NULL,
    update_us       INTEGER NOT NULL,
    doc             TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
) STRICT;
INSERT INTO persons_new (id, organization_id, version, deleted, create_us, update_us, doc)
SELECT id, organization_id, version, deleted, create_us, update_us, doc FROM persons;
DROP TABLE persons;
ALTER TABLE persons_new RENAME TO persons;
CREATE INDEX persons_id ON persons (id);
ALTER TABLE cases ADD COLUMN person_owner TEXT NOT NULL DEFAULT '';
UPDATE cases SET person_owner = COALESCE((SELECT p.organization_id FROM persons p WHERE p.id = cases.person_id), '')
WHERE person_id <> '';
DROP INDEX cases_person;
CREATE INDEX cases_person ON cases (person_id, person_owner);

-- +goose Down
SELECT 'irreversible: person ids are per owner since 00003';
