-- +goose Up
-- The mediators register, bookings, statements and the audit log. Same tables and
-- columns as on PostgreSQL (store/sqlcore writes one SQL for both). SQLite has no
-- exclusion constraints: the store checks overlaps inside its write transaction, and
-- the embedded store serialises writes, so the check holds until COMMIT.
CREATE TABLE mediators (
    id                  TEXT PRIMARY KEY,
    tax_code            TEXT NOT NULL DEFAULT '',
    status              INTEGER NOT NULL,
    version             INTEGER NOT NULL,
    create_us           INTEGER NOT NULL,
    update_us           INTEGER NOT NULL,
    calendar_token_hash TEXT NOT NULL DEFAULT '',
    doc                 TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX mediators_tax_code ON mediators (tax_code) WHERE tax_code <> '';

CREATE TABLE mediator_districts (
    mediator_id   TEXT NOT NULL REFERENCES mediators (id),
    district_code TEXT NOT NULL,
    PRIMARY KEY (district_code, mediator_id)
) STRICT;

CREATE TABLE mediator_languages (
    mediator_id TEXT NOT NULL REFERENCES mediators (id),
    language    TEXT NOT NULL,
    PRIMARY KEY (language, mediator_id)
) STRICT;

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
    in_person         INTEGER NOT NULL,
    state             INTEGER NOT NULL,
    mediator_id       TEXT NOT NULL DEFAULT '',
    holds_slot        INTEGER NOT NULL DEFAULT 0, -- 1 while the mediator's time is taken
    start_us          INTEGER NOT NULL,
    end_us            INTEGER NOT NULL,
    guard_start_us    INTEGER NOT NULL, -- start less half the travel buffer
    guard_end_us      INTEGER NOT NULL, -- end plus half the travel buffer
    month             TEXT NOT NULL,   -- YYYY-MM of the start, Europe/Rome
    version           INTEGER NOT NULL,
    create_us         INTEGER NOT NULL,
    update_us         INTEGER NOT NULL,
    doc               TEXT NOT NULL,
    CHECK (end_us > start_us)
) STRICT;
CREATE UNIQUE INDEX bookings_request ON bookings (requesting_org, request_id) WHERE request_id <> '';
CREATE INDEX bookings_mediator ON bookings (mediator_id, start_us) WHERE mediator_id <> '';
CREATE INDEX bookings_district ON bookings (district_code, month);
CREATE INDEX bookings_requester ON bookings (requesting_org, start_us);
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id <> '';
CREATE INDEX bookings_start ON bookings (start_us, id);

CREATE TABLE statement_months (
    district_code TEXT NOT NULL,
    month         TEXT NOT NULL,
    close_us      INTEGER NOT NULL,
    closed_by     TEXT NOT NULL,
    total_cents   INTEGER NOT NULL,
    PRIMARY KEY (district_code, month)
) STRICT;

-- The lines of closed months, frozen as they were closed.
CREATE TABLE statement_lines (
    district_code TEXT NOT NULL,
    month         TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    mediator_id   TEXT NOT NULL,
    payer_org     TEXT NOT NULL,
    booking_id    TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (district_code, month, seq)
) STRICT;

-- What closed months paid for each booking, so corrections become differences.
CREATE TABLE billed (
    booking_id   TEXT PRIMARY KEY,
    amount_cents INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us         INTEGER NOT NULL,
    subject         TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    method          TEXT NOT NULL,
    action          TEXT NOT NULL,
    mediator_id     TEXT NOT NULL
) STRICT;
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
