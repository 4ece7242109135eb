package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// The constraints of migrations/postgres that keep a mediator's time, and the rules they
// stand for.
var slotConstraints = map[string]string{
	"bookings_no_overlap":    "overlap",
	"bookings_travel_buffer": "travel_buffer",
}

// holdsSlot reports whether a booking in state s with a mediator takes their time.
func holdsSlot(b *mediatorsv1.Booking) bool {
	if b.GetMediatorId() == "" {
		return false
	}
	switch b.GetState() {
	case mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED,
		mediatorsv1.BookingState_BOOKING_STATE_COMPLETED, mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW:
		return true
	}
	return false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// slotColumns are the columns computed from a booking's slot.
type slotColumns struct {
	inPerson, holds                  int64
	start, end, guardStart, guardEnd int64
	municipality, month              string
}

func (c *Core) columns(b *mediatorsv1.Booking, s store.Slot) slotColumns {
	half := int64(0)
	if s.InPerson {
		half = s.Buffer.Microseconds() / 2
	}
	return slotColumns{
		inPerson: b2i(s.InPerson), holds: b2i(holdsSlot(b)),
		start: s.Start.UnixMicro(), end: s.End.UnixMicro(),
		guardStart: s.Start.UnixMicro() - half, guardEnd: s.End.UnixMicro() + half,
		municipality: s.Municipality, month: s.Start.In(c.loc).Format("2006-01"),
	}
}

// checkSlot refuses a booking whose mediator's time is taken, by the predicate of the
// PostgreSQL exclusion constraints. On SQLite, where writes are serialised, it is the
// guarantee; on PostgreSQL the constraints are, and this gives the error first.
func checkSlot(ctx context.Context, q sqlstore.Q, id, mediator string, col slotColumns) error {
	if col.holds == 0 {
		return nil
	}
	var rule string
	err := q.Query(ctx, `SELECT CASE WHEN start_us < ? AND ? < end_us THEN 'overlap' ELSE 'travel_buffer' END
		FROM bookings
		WHERE mediator_id = ? AND holds_slot = 1 AND id <> ?
		  AND ((start_us < ? AND ? < end_us)
		    OR (? = 1 AND in_person = 1 AND municipality_code <> ? AND guard_start_us < ? AND ? < guard_end_us))
		ORDER BY 1 DESC LIMIT 1`,
		[]any{col.end, col.start, mediator, id, col.end, col.start, col.inPerson, col.municipality, col.guardEnd, col.guardStart},
		func(scan func(...any) error) error { return scan(&rule) })
	if err != nil {
		return fmt.Errorf("check the mediator's time: %w", err)
	}
	if rule != "" {
		return &store.SlotError{Rule: rule}
	}
	return nil
}

// slotErr maps a violated exclusion constraint to the rule it stands for.
func slotErr(err error) error {
	if errors.Is(err, sqlstore.ErrExclusion) {
		if rule, ok := slotConstraints[sqlstore.Constraint(err)]; ok {
			return &store.SlotError{Rule: rule}
		}
		return &store.SlotError{Rule: "overlap"}
	}
	return err
}

var bookingInsertColumns = []string{
	"id", "series_id", "request_id", "requesting_org", "payer_org", "district_code", "municipality_code", "language",
	"service_type", "in_person", "state", "mediator_id", "holds_slot", "start_us", "end_us", "guard_start_us", "guard_end_us",
	"month", "version", "create_us", "update_us", "doc",
}

// CreateBookings implements store.Store.
func (c *Core) CreateBookings(ctx context.Context, a store.Actor, requestID string, bs []*mediatorsv1.Booking, slots []store.Slot) ([]*mediatorsv1.Booking, error) {
	if len(bs) == 0 || len(bs) != len(slots) {
		return nil, errors.New("create bookings: one slot per booking")
	}
	out := make([]*mediatorsv1.Booking, len(bs))
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		if requestID != "" {
			prior, err := c.bookingsWhere(ctx, q, "requesting_org = ? AND request_id = ?", []any{bs[0].GetRequestingOrganizationId(), requestID})
			if err != nil {
				return err
			}
			if len(prior) > 0 {
				if prior[0].GetSeriesId() != "" {
					prior, err = c.bookingsWhere(ctx, q, "series_id = ?", []any{prior[0].GetSeriesId()})
					if err != nil {
						return err
					}
				}
				out = prior
				return nil
			}
		}
		now := nowUs()
		series := ""
		if len(bs) > 1 {
			series = uuid.NewString()
		}
		for i, b := range bs {
			b = proto.Clone(b).(*mediatorsv1.Booking)
			b.Id, b.SeriesId = uuid.NewString(), series
			b.CreateTime, b.UpdateTime, b.Etag = ts(now), ts(now), etag(1)
			col := c.columns(b, slots[i])
			if err := checkSlot(ctx, q, b.Id, b.MediatorId, col); err != nil {
				return err
			}
			doc, err := marshal.Marshal(b)
			if err != nil {
				return fmt.Errorf("encode booking: %w", err)
			}
			rid := ""
			if i == 0 {
				rid = requestID
			}
			_, err = q.Exec(ctx, `INSERT INTO bookings (`+strings.Join(bookingInsertColumns, ", ")+`) VALUES (`+sqlstore.Placeholders(len(bookingInsertColumns))+`)`,
				b.Id, series, rid, b.RequestingOrganizationId, b.PayerOrganizationId, b.DistrictCode, col.municipality, b.Language,
				int64(b.ServiceType), col.inPerson, int64(b.State), b.MediatorId, col.holds, col.start, col.end, col.guardStart, col.guardEnd,
				col.month, int64(1), now, now, string(doc))
			if errors.Is(err, sqlstore.ErrUnique) {
				return storage.FieldErrorf(store.ErrAlreadyExists, "request_id", "a booking with this request id exists")
			}
			if err != nil {
				return fmt.Errorf("insert booking: %w", slotErr(err))
			}
			log.Append(store.FactEntry(b, c.loc))
			out[i] = b
		}
		return nil
	})
	if err != nil {
		return nil, slotErrWrapped(err)
	}
	return out, nil
}

// slotErrWrapped unwraps a *store.SlotError from a wrapped error so callers see it as is.
func slotErrWrapped(err error) error {
	var se *store.SlotError
	if errors.As(err, &se) {
		return se
	}
	return slotErr(err)
}

func scanBooking(scan func(...any) error) (*mediatorsv1.Booking, error) {
	var doc string
	if err := scan(&doc); err != nil {
		return nil, err
	}
	b := &mediatorsv1.Booking{}
	if err := unmarshal.Unmarshal([]byte(doc), b); err != nil {
		return nil, fmt.Errorf("decode booking: %w", err)
	}
	return b, nil
}

func (c *Core) bookingsWhere(ctx context.Context, q sqlstore.Q, where string, args []any) ([]*mediatorsv1.Booking, error) {
	return c.bookingsQuery(ctx, q, where, "", args)
}

// bookingsQuery reads bookings matching where, by start and id, with tail (a LIMIT).
func (c *Core) bookingsQuery(ctx context.Context, q sqlstore.Q, where, tail string, args []any) ([]*mediatorsv1.Booking, error) {
	var out []*mediatorsv1.Booking
	err := q.Query(ctx, `SELECT doc FROM bookings WHERE `+where+` ORDER BY start_us, id `+tail, args, func(scan func(...any) error) error {
		b, err := scanBooking(scan)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read bookings: %w", err)
	}
	return out, nil
}

// GetBooking implements store.Store.
func (c *Core) GetBooking(ctx context.Context, id string) (*mediatorsv1.Booking, error) {
	bs, err := c.bookingsWhere(ctx, c.db.Read(), "id = ?", []any{id})
	if err != nil {
		return nil, err
	}
	if len(bs) == 0 {
		return nil, fmt.Errorf("booking %s: %w", id, store.ErrNotFound)
	}
	return bs[0], nil
}

// ListBookings implements store.Store.
func (c *Core) ListBookings(ctx context.Context, f store.BookingFilter) ([]*mediatorsv1.Booking, error) {
	var conds []string
	var args []any
	if f.MediatorID != "" {
		conds, args = append(conds, "mediator_id = ?"), append(args, f.MediatorID)
	}
	// Organizations, districts and municipalities are alternatives: a caller reaches a
	// booking through any of them.
	var reach []string
	var reachArgs []any
	if f.RequestingOrgs != nil || f.Districts != nil || f.Municipalities != nil {
		for _, o := range f.RequestingOrgs {
			reach, reachArgs = append(reach, "requesting_org = ?"), append(reachArgs, o)
		}
		for _, d := range f.Districts {
			reach, reachArgs = append(reach, "district_code = ?"), append(reachArgs, d)
		}
		for _, m := range f.Municipalities {
			reach, reachArgs = append(reach, "municipality_code LIKE ?"), append(reachArgs, m+"%")
		}
		if len(reach) == 0 {
			return nil, nil
		}
		conds, args = append(conds, "("+strings.Join(reach, " OR ")+")"), append(args, reachArgs...)
	}
	if f.State != 0 {
		conds, args = append(conds, "state = ?"), append(args, int64(f.State))
	}
	if f.SeriesID != "" {
		conds, args = append(conds, "series_id = ?"), append(args, f.SeriesID)
	}
	if !f.StartAfter.IsZero() {
		conds, args = append(conds, "start_us >= ?"), append(args, f.StartAfter.UnixMicro())
	}
	if !f.StartBefore.IsZero() {
		conds, args = append(conds, "start_us < ?"), append(args, f.StartBefore.UnixMicro())
	}
	if f.AfterID != "" {
		us := f.AfterStart.UnixMicro()
		conds, args = append(conds, "(start_us > ? OR (start_us = ? AND id > ?))"), append(args, us, us, f.AfterID)
	}
	if len(conds) == 0 {
		conds = []string{"1 = 1"}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return c.bookingsQuery(ctx, c.db.Read(), strings.Join(conds, " AND "), "LIMIT ?", append(args, limit))
}

// UpdateBooking implements store.Store.
func (c *Core) UpdateBooking(ctx context.Context, a store.Actor, id, wantEtag string, fn func(*mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error)) (*mediatorsv1.Booking, error) {
	var out *mediatorsv1.Booking
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := c.bookingsWhere(ctx, q, "id = ?", []any{id})
		if err != nil {
			return err
		}
		if len(cur) == 0 {
			return fmt.Errorf("booking %s: %w", id, store.ErrNotFound)
		}
		if wantEtag != "" && wantEtag != cur[0].GetEtag() {
			return storage.FieldErrorf(store.ErrConflict, "etag", "booking %s is at version %s, not %s", id, cur[0].GetEtag(), wantEtag)
		}
		version, _ := strconv.ParseInt(cur[0].GetEtag(), 10, 64)
		next, slot, err := fn(proto.Clone(cur[0]).(*mediatorsv1.Booking))
		if err != nil {
			return err
		}
		now := nowUs()
		next.Id, next.SeriesId, next.CreateTime = cur[0].Id, cur[0].SeriesId, cur[0].CreateTime
		next.UpdateTime, next.Etag = ts(now), etag(version+1)
		col := c.columns(next, slot)
		if err := checkSlot(ctx, q, id, next.MediatorId, col); err != nil {
			return err
		}
		doc, err := marshal.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode booking: %w", err)
		}
		n, err := q.Exec(ctx, `UPDATE bookings SET payer_org = ?, district_code = ?, municipality_code = ?, language = ?,
			service_type = ?, in_person = ?, state = ?, mediator_id = ?, holds_slot = ?, start_us = ?, end_us = ?,
			guard_start_us = ?, guard_end_us = ?, month = ?, version = ?, update_us = ?, doc = ?
			WHERE id = ? AND version = ?`,
			next.PayerOrganizationId, next.DistrictCode, col.municipality, next.Language, int64(next.ServiceType), col.inPerson,
			int64(next.State), next.MediatorId, col.holds, col.start, col.end, col.guardStart, col.guardEnd, col.month,
			version+1, now, string(doc), id, version)
		if err != nil {
			return fmt.Errorf("update booking: %w", slotErr(err))
		}
		if n != 1 {
			return storage.FieldErrorf(store.ErrConflict, "etag", "booking %s changed meanwhile", id)
		}
		log.Append(store.FactEntry(next, c.loc))
		out = next
		return nil
	})
	if err != nil {
		return nil, slotErrWrapped(err)
	}
	return out, nil
}

// MediatorBookings implements store.Store.
func (c *Core) MediatorBookings(ctx context.Context, ids []string, from, to time.Time) (map[string][]*mediatorsv1.Booking, error) {
	out := map[string][]*mediatorsv1.Booking{}
	q := c.db.Read()
	err := sqlstore.EachIn(q, "mediator_id", ids, func(cond string, args []any) error {
		// The lower bound on start_us (a booking lasts at most MaxBookingMinutes) keeps the
		// read to the index range around the time (bookings_held), not every booking the
		// mediators ever held before it.
		earliest := from.Add(-store.MaxBookingMinutes * time.Minute)
		bs, err := c.bookingsWhere(ctx, q, "holds_slot = 1 AND "+cond+" AND start_us < ? AND start_us > ? AND end_us > ?",
			append(args, to.UnixMicro(), earliest.UnixMicro(), from.UnixMicro()))
		if err != nil {
			return err
		}
		for _, b := range bs {
			out[b.GetMediatorId()] = append(out[b.GetMediatorId()], b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mediators' bookings: %w", err)
	}
	return out, nil
}

// MonthMinutes implements store.Store.
func (c *Core) MonthMinutes(ctx context.Context, ids []string, month string) (map[string]int, error) {
	out := map[string]int{}
	q := c.db.Read()
	err := sqlstore.EachIn(q, "mediator_id", ids, func(cond string, args []any) error {
		return q.Query(ctx, `SELECT mediator_id, CAST(sum(end_us - start_us) AS BIGINT) FROM bookings
			WHERE holds_slot = 1 AND month = ? AND `+cond+` GROUP BY mediator_id`, append([]any{month}, args...),
			func(scan func(...any) error) error {
				var id string
				var us int64
				if err := scan(&id, &us); err != nil {
					return err
				}
				out[id] = int(us / 60_000_000)
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("month minutes: %w", err)
	}
	return out, nil
}
