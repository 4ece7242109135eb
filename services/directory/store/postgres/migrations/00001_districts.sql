-- +goose Up
CREATE TABLE districts (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    region_code text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- A municipality belongs to at most one district of the network.
CREATE TABLE district_municipalities (
    municipality_code text PRIMARY KEY,
    district_code     text NOT NULL REFERENCES districts (code) ON DELETE CASCADE
);
CREATE INDEX district_municipalities_district ON district_municipalities (district_code);

-- +goose Down
DROP TABLE district_municipalities;
DROP TABLE districts;
