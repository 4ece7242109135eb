-- +goose Up
-- What an assignment reads of each candidate, by index alone: the bookings that hold the
-- mediator's time around the requested one (a start_us range, since a booking lasts at
-- most 480 minutes, which the CHECK makes a guarantee of the table, not only of the API),
-- and the minutes held in the month (fair share).
-- 480 minutes, in microseconds.
ALTER TABLE bookings ADD CONSTRAINT bookings_max_duration CHECK (end_us - start_us <= 28800000000);
CREATE INDEX bookings_held ON bookings (mediator_id, start_us) INCLUDE (end_us) WHERE holds_slot = 1;
CREATE INDEX bookings_held_month ON bookings (mediator_id, month) INCLUDE (start_us, end_us) WHERE holds_slot = 1;

-- +goose Down
DROP INDEX bookings_held_month;
DROP INDEX bookings_held;
ALTER TABLE bookings DROP CONSTRAINT bookings_max_duration;
