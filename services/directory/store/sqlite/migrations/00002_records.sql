-- +goose Up
-- Organizations, services, locations and taxonomy terms: the record as a JSON document
-- (protojson) plus the columns search filters on. The same tables exist in the
-- embedded store, so both give the same answers.
CREATE TABLE records (
    kind            TEXT NOT NULL,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL DEFAULT '',
    etag            TEXT NOT NULL,
    create_time     TEXT NOT NULL, -- RFC 3339 with nanoseconds, UTC
    update_time     TEXT NOT NULL,
    doc             TEXT NOT NULL,
    search_text     TEXT NOT NULL DEFAULT '', -- folded (lower case, no accents)
    municipality    TEXT NOT NULL DEFAULT '',
    province        TEXT NOT NULL DEFAULT '',
    region          TEXT NOT NULL DEFAULT '',
    languages       TEXT NOT NULL DEFAULT '', -- "|it|en|"
    target_groups   TEXT NOT NULL DEFAULT '', -- "|adults|women|"
    latitude        REAL,  -- of a location, WGS 84; NULL when unknown
    longitude       REAL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX records_organization ON records (organization_id);
CREATE INDEX records_municipality ON records (kind, municipality);
CREATE INDEX records_province ON records (kind, province);
CREATE INDEX records_region ON records (kind, region);

-- References between records (a service's terms and locations, a term's parent).
CREATE TABLE record_refs (
    from_kind TEXT NOT NULL,
    from_id   TEXT NOT NULL,
    to_kind   TEXT NOT NULL,
    to_id     TEXT NOT NULL,
    PRIMARY KEY (from_kind, from_id, to_kind, to_id),
    FOREIGN KEY (from_kind, from_id) REFERENCES records (kind, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX record_refs_to ON record_refs (to_kind, to_id);

-- +goose Down
DROP TABLE record_refs;
DROP TABLE records;
