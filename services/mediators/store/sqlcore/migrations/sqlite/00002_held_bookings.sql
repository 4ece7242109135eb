-- +goose Up
-- What an assignment reads of each candidate, by index alone (see the PostgreSQL
-- migration; SQLite cannot add a CHECK to a table, so there the 480-minute bound on a
-- booking rests on the API's validation).
CREATE INDEX bookings_held ON bookings (mediator_id, start_us, end_us) WHERE holds_slot = 1;
CREATE INDEX bookings_held_month ON bookings (mediator_id, month, start_us, end_us) WHERE holds_slot = 1;

-- +goose Down
DROP INDEX bookings_held_month;
DROP INDEX bookings_held;
