-- +goose Up
CREATE TABLE districts (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    create_time TEXT NOT NULL -- RFC 3339 with nanoseconds, UTC
) STRICT;

-- A municipality belongs to at most one district of the network.
CREATE TABLE district_municipalities (
    municipality_code TEXT PRIMARY KEY,
    district_code     TEXT NOT NULL REFERENCES districts (code) ON DELETE CASCADE
) STRICT;
CREATE INDEX district_municipalities_district ON district_municipalities (district_code);

-- +goose Down
DROP TABLE district_municipalities;
DROP TABLE districts;
