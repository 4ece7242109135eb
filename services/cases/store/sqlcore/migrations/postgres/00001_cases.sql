-- +goose Up
-- Persons, cases and their events: the record as a protojson document plus the columns
-- queries filter on. Times are Unix microseconds and booleans 0/1, as in the embedded
-- store, so that both share their SQL (store/internal/sqlcore).
CREATE TABLE persons (
    id              text PRIMARY KEY,
    organization_id text NOT NULL DEFAULT '',
    version         integer NOT NULL,
    deleted         integer NOT NULL DEFAULT 0, -- a tombstone: personal data erased
    create_us       bigint NOT NULL,
    update_us       bigint NOT NULL,
    doc             text NOT NULL
);
CREATE INDEX persons_organization ON persons (organization_id);

CREATE TABLE cases (
    id                text PRIMARY KEY,
    person_id         text NOT NULL DEFAULT '',
    organization_id   text NOT NULL DEFAULT '',
    district_code     text NOT NULL DEFAULT '',
    municipality_code text NOT NULL DEFAULT '',
    category          integer NOT NULL,
    phase             integer NOT NULL,
    source            text NOT NULL,
    external_id       text NOT NULL,
    version           integer NOT NULL,
    deleted           integer NOT NULL DEFAULT 0,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    content_hash      text NOT NULL,
    doc               text NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_organization ON cases (organization_id);
CREATE INDEX cases_district ON cases (district_code);
CREATE INDEX cases_municipality ON cases (municipality_code text_pattern_ops);

CREATE TABLE case_events (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id   text NOT NULL REFERENCES cases (id),
    create_us bigint NOT NULL,
    doc       text NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, seq);

-- The audit log: who read or wrote which person or case, when, through which method.
-- Append-only: updates and deletes are refused by a trigger.
CREATE TABLE audit_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_us           bigint NOT NULL,
    subject           text NOT NULL,
    organization_id   text NOT NULL,
    method            text NOT NULL,
    action            text NOT NULL,
    record_type       text NOT NULL,
    record_id         text NOT NULL,
    district_code     text NOT NULL,
    municipality_code text NOT NULL
);
CREATE INDEX audit_events_district ON audit_events (district_code, id);
CREATE INDEX audit_events_record ON audit_events (record_id, id);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE persons;
