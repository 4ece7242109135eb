-- +goose Up
-- Person ids are unique per owner (persons.organization_id: the organization that
-- registered the person, or "territory:<code>"), not across the network: an id another
-- owner chose can neither collide with nor reveal theirs. A case names its person by
-- owner and id.
ALTER TABLE persons DROP CONSTRAINT persons_pkey;
ALTER TABLE persons ADD PRIMARY KEY (organization_id, id);
DROP INDEX persons_organization;
CREATE INDEX persons_id ON persons (id);
ALTER TABLE cases ADD COLUMN person_owner text NOT NULL DEFAULT '';
UPDATE cases c SET person_owner = p.organization_id FROM persons p WHERE p.id = c.person_id AND c.person_id <> '';
DROP INDEX cases_person;
CREATE INDEX cases_person ON cases (person_id, person_owner);

-- +goose Down
SELECT 'irreversible: person ids are per owner since 00003';
