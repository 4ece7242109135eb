-- +goose Up
-- The housing desk's records: each a protojson document beside the columns queries
-- filter on; times Unix microseconds, as in the other dialect, so that both share their
-- SQL (store/sqlcore). Statuses are the enum numbers of ponte.housing.v1.
CREATE TABLE owners (
    id              text PRIMARY KEY,
    organization_id text NOT NULL,
    district_code   text NOT NULL,
    status          integer NOT NULL, -- engagement status
    version         integer NOT NULL,
    create_us       bigint NOT NULL,
    update_us       bigint NOT NULL,
    doc             text NOT NULL
);
CREATE INDEX owners_district ON owners (district_code);
CREATE INDEX owners_organization ON owners (organization_id);

CREATE TABLE homes (
    id                text PRIMARY KEY,
    owner_id          text NOT NULL REFERENCES owners (id),
    organization_id   text NOT NULL,
    district_code     text NOT NULL,
    municipality_code text NOT NULL,
    status            integer NOT NULL,
    version           integer NOT NULL,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    doc               text NOT NULL
);
CREATE INDEX homes_owner ON homes (owner_id);
CREATE INDEX homes_status ON homes (status);
CREATE INDEX homes_district ON homes (district_code);
CREATE INDEX homes_municipality ON homes (municipality_code text_pattern_ops);

CREATE TABLE requests (
    id                text PRIMARY KEY,
    case_id           text NOT NULL,
    organization_id   text NOT NULL,
    district_code     text NOT NULL,
    municipality_code text NOT NULL,
    status            integer NOT NULL,
    version           integer NOT NULL,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    doc               text NOT NULL
);
-- A household (its case) has at most one open or matched request: it cannot be housed twice.
CREATE UNIQUE INDEX requests_live_case ON requests (case_id) WHERE status IN (1, 2);
CREATE INDEX requests_case ON requests (case_id);
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_district ON requests (district_code);
CREATE INDEX requests_organization ON requests (organization_id);
CREATE INDEX requests_municipality ON requests (municipality_code text_pattern_ops);

CREATE TABLE proposals (
    id                text PRIMARY KEY,
    request_id        text NOT NULL REFERENCES requests (id),
    home_id           text NOT NULL REFERENCES homes (id),
    district_code     text NOT NULL,
    municipality_code text NOT NULL,
    status            integer NOT NULL,
    version           integer NOT NULL,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    doc               text NOT NULL
);
CREATE UNIQUE INDEX proposals_live_pair ON proposals (request_id, home_id) WHERE status IN (1, 2);
-- One accepted proposal holds a home, and a request, at a time.
CREATE UNIQUE INDEX proposals_accepted_home ON proposals (home_id) WHERE status = 2;
CREATE UNIQUE INDEX proposals_accepted_request ON proposals (request_id) WHERE status = 2;
CREATE INDEX proposals_home ON proposals (home_id);
CREATE INDEX proposals_request ON proposals (request_id);

CREATE TABLE viewings (
    id                text PRIMARY KEY,
    proposal_id       text NOT NULL REFERENCES proposals (id),
    district_code     text NOT NULL,
    municipality_code text NOT NULL,
    status            integer NOT NULL,
    version           integer NOT NULL,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    doc               text NOT NULL
);
CREATE INDEX viewings_proposal ON viewings (proposal_id);

CREATE TABLE tenancies (
    id                text PRIMARY KEY,
    proposal_id       text NOT NULL UNIQUE REFERENCES proposals (id),
    request_id        text NOT NULL REFERENCES requests (id),
    home_id           text NOT NULL REFERENCES homes (id),
    district_code     text NOT NULL,
    municipality_code text NOT NULL,
    status            integer NOT NULL,
    version           integer NOT NULL,
    create_us         bigint NOT NULL,
    update_us         bigint NOT NULL,
    doc               text NOT NULL
);
-- A home is never let twice: one running tenancy per home. A request is housed once.
CREATE UNIQUE INDEX tenancies_running_home ON tenancies (home_id) WHERE status = 1;
CREATE UNIQUE INDEX tenancies_request ON tenancies (request_id);
CREATE INDEX tenancies_status ON tenancies (status);

CREATE TABLE tenancy_events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenancy_id text NOT NULL REFERENCES tenancies (id),
    create_us  bigint NOT NULL,
    doc        text NOT NULL
);
CREATE INDEX tenancy_events_tenancy ON tenancy_events (tenancy_id, seq);

-- The audit log: who read or wrote which owner, home, request or tenancy, when,
-- through which method. Append-only: updates and deletes are refused by a trigger.
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
CREATE INDEX audit_events_record ON audit_events (record_id, id);
CREATE INDEX audit_events_district ON audit_events (district_code, id);

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
DROP TABLE tenancy_events;
DROP TABLE tenancies;
DROP TABLE viewings;
DROP TABLE proposals;
DROP TABLE requests;
DROP TABLE homes;
DROP TABLE owners;
