-- +goose Up
-- Organizations, services, locations and taxonomy terms: the record as a JSON document
-- (protojson) plus the columns search filters on. The same tables exist in the
-- embedded store, so both give the same answers.
CREATE TABLE records (
    kind            text NOT NULL,
    id              text NOT NULL,
    organization_id text NOT NULL DEFAULT '',
    etag            text NOT NULL,
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    doc             text NOT NULL,
    search_text     text NOT NULL DEFAULT '', -- folded (lower case, no accents)
    municipality    text NOT NULL DEFAULT '',
    province        text NOT NULL DEFAULT '',
    region          text NOT NULL DEFAULT '',
    languages       text NOT NULL DEFAULT '', -- "|it|en|"
    target_groups   text NOT NULL DEFAULT '', -- "|adults|women|"
    latitude        double precision,  -- of a location, WGS 84; NULL when unknown
    longitude       double precision,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_organization ON records (organization_id);
CREATE INDEX records_municipality ON records (kind, municipality);
CREATE INDEX records_province ON records (kind, province);
CREATE INDEX records_region ON records (kind, region);

-- References between records (a service's terms and locations, a term's parent).
CREATE TABLE record_refs (
    from_kind text NOT NULL,
    from_id   text NOT NULL,
    to_kind   text NOT NULL,
    to_id     text NOT NULL,
    PRIMARY KEY (from_kind, from_id, to_kind, to_id),
    FOREIGN KEY (from_kind, from_id) REFERENCES records (kind, id) ON DELETE CASCADE
);
CREATE INDEX record_refs_to ON record_refs (to_kind, to_id);

-- +goose Down
DROP TABLE record_refs;
DROP TABLE records;
