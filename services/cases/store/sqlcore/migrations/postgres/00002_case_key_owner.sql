-- +goose Up
-- A case's source + external_id is unique per key owner (the writer's organization, or
-- "territory:<code>" for staff without one), not across the whole network: one
-- organization's keys can neither collide with nor reveal another's.
ALTER TABLE cases ADD COLUMN key_owner text NOT NULL DEFAULT '';
UPDATE cases SET key_owner = organization_id;
ALTER TABLE cases DROP CONSTRAINT cases_source_external_id_key;
CREATE UNIQUE INDEX cases_key ON cases (key_owner, source, external_id);

-- +goose Down
DROP INDEX cases_key;
ALTER TABLE cases DROP COLUMN key_owner;
ALTER TABLE cases ADD CONSTRAINT cases_source_external_id_key UNIQUE (source, external_id);
