-- +goose Up
CREATE TABLE facts (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    day        INTEGER NOT NULL,
    cell       TEXT NOT NULL,
    person     TEXT NOT NULL,
    fkey       BIGINT NOT NULL,
    pkey       BIGINT NOT NULL,
    quantity   BIGINT NOT NULL
);

-- Counts per kind, day and cell, and per kind, month and cell: kept as facts arrive.
CREATE TABLE rollup_day (
    kind   TEXT NOT NULL,
    period INTEGER NOT NULL,
    cell   TEXT NOT NULL,
    n      BIGINT NOT NULL,
    ksum   BIGINT NOT NULL,
    qsum   BIGINT NOT NULL,
    PRIMARY KEY (kind, period, cell)
);

CREATE TABLE rollup_month (
    kind   TEXT NOT NULL,
    period INTEGER NOT NULL,
    cell   TEXT NOT NULL,
    n      BIGINT NOT NULL,
    ksum   BIGINT NOT NULL,
    qsum   BIGINT NOT NULL,
    PRIMARY KEY (kind, period, cell)
);

-- Which persons have facts of a kind on a day in a cell (n facts): distinct counts.
CREATE TABLE presence (
    kind   TEXT NOT NULL,
    day    INTEGER NOT NULL,
    cell   TEXT NOT NULL,
    person TEXT NOT NULL,
    pkey   BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (kind, day, cell, person)
);

CREATE TABLE cursors (
    source     TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    head       BIGINT NOT NULL,
    entry_us   BIGINT NOT NULL,
    read_us    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE presence;
DROP TABLE rollup_month;
DROP TABLE rollup_day;
DROP TABLE facts;
