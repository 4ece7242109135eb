-- +goose Up
-- The mediators register, bookings, statements and the audit log. Same tables and
-- columns as on SQLite (store/sqlcore writes one SQL for both); PostgreSQL adds the
-- exclusion constraints that make a double booking impossible.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

CREATE TABLE mediators (
    id                  TEXT PRIMARY KEY,
    tax_code            TEXT NOT NULL DEFAULT '',
    status              INTEGER NOT NULL,
    version             BIGINT NOT NULL,
    create_us           BIGINT NOT NULL,
    update_us           BIGINT NOT NULL,
    calendar_token_hash TEXT NOT NULL DEFAULT '',
    doc                 TEXT NOT NULL
);
CREATE UNIQUE INDEX mediators_tax_code ON mediators (tax_code) WHERE tax_code <> '';

CREATE TABLE mediator_districts (
    mediator_id   TEXT NOT NULL REFERENCES mediators (id),
    district_code TEXT NOT NULL,
    PRIMARY KEY (district_code, mediator_id)
);

CREATE TABLE mediator_languages (
    mediator_id TEXT NOT NULL REFERENCES mediators (id),
    language    TEXT NOT NULL,
    PRIMARY KEY (language, mediator_id)
);

CREATE TABLE bookings (
    id                TEXT PRIMARY KEY,
    series_id         TEXT NOT NULL DEFAULT '',
    request_id        TEXT NOT NULL DEFAULT '',
    requesting_org    TEXT NOT NULL DEFAULT '',
    payer_org         TEXT NOT NULL DEFAULT '',
    district_code     TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    language          TEXT NOT NULL,
    service_type      INTEGER NOT NULL,
    in_person         SMALLINT NOT NULL,
    state             INTEGER NOT NULL,
    mediator_id       TEXT NOT NULL DEFAULT '',
    holds_slot        SMALLINT NOT NULL DEFAULT 0, -- 1 while the mediator's time is taken
    start_us          BIGINT NOT NULL,
    end_us            BIGINT NOT NULL,
    guard_start_us    BIGINT NOT NULL, -- start less half the travel buffer
    guard_end_us      BIGINT NOT NULL, -- end plus half the travel buffer
    month             TEXT NOT NULL,   -- YYYY-MM of the start, Europe/Rome
    version           BIGINT NOT NULL,
    create_us         BIGINT NOT NULL,
    update_us         BIGINT NOT NULL,
    doc               TEXT NOT NULL,
    CHECK (end_us > start_us),
    -- Never two bookings of one mediator at the same time.
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        mediator_id WITH =, int8range(start_us, end_us) WITH &&
    ) WHERE (holds_slot = 1),
    -- Two in-person bookings in different municipalities leave the travel buffer free:
    -- ranges widened by half the buffer each side overlap exactly when the gap between
    -- the bookings is shorter than the buffer.
    CONSTRAINT bookings_travel_buffer EXCLUDE USING gist (
        mediator_id WITH =, municipality_code WITH <>, int8range(guard_start_us, guard_end_us) WITH &&
    ) WHERE (holds_slot = 1 AND in_person = 1)
);
CREATE UNIQUE INDEX bookings_request ON bookings (requesting_org, request_id) WHERE request_id <> '';
CREATE INDEX bookings_mediator ON bookings (mediator_id, start_us) WHERE mediator_id <> '';
CREATE INDEX bookings_district ON bookings (district_code, month);
CREATE INDEX bookings_requester ON bookings (requesting_org, start_us);
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id <> '';
CREATE INDEX bookings_start ON bookings (start_us, id);

CREATE TABLE statement_months (
    district_code TEXT NOT NULL,
    month         TEXT NOT NULL,
    close_us      BIGINT NOT NULL,
    closed_by     TEXT NOT NULL,
    total_cents   BIGINT NOT NULL,
    PRIMARY KEY (district_code, month)
);

-- The lines of closed months, frozen as they were closed.
CREATE TABLE statement_lines (
    district_code TEXT NOT NULL,
    month         TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    mediator_id   TEXT NOT NULL,
    payer_org     TEXT NOT NULL,
    booking_id    TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (district_code, month, seq)
);

-- What closed months paid for each booking, so corrections become differences.
CREATE TABLE billed (
    booking_id   TEXT PRIMARY KEY,
    amount_cents BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_us         BIGINT NOT NULL,
    subject         TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    method          TEXT NOT NULL,
    action          TEXT NOT NULL,
    mediator_id     TEXT NOT NULL
);
CREATE INDEX audit_events_mediator ON audit_events (mediator_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE billed;
DROP TABLE statement_lines;
DROP TABLE statement_months;
DROP TABLE bookings;
DROP TABLE mediator_languages;
DROP TABLE mediator_districts;
DROP TABLE mediators;
