package sqlcore

import (
	"context"
	"errors"
	"fmt"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/mediators/store"
)

func strs(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// BillableBookings implements store.Store.
func (c *Core) BillableBookings(ctx context.Context, district string, months []string) ([]*mediatorsv1.Booking, error) {
	if len(months) == 0 {
		return nil, nil
	}
	return c.bookingsWhere(ctx, c.db.Read(), `district_code = ? AND month IN (`+sqlstore.Placeholders(len(months))+`)
		AND mediator_id <> '' AND state IN (?, ?, ?)`,
		append(append([]any{district}, strs(months)...),
			int64(mediatorsv1.BookingState_BOOKING_STATE_COMPLETED), int64(mediatorsv1.BookingState_BOOKING_STATE_CANCELLED),
			int64(mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW)))
}

// BookingDistricts implements store.Store.
func (c *Core) BookingDistricts(ctx context.Context, months []string) ([]string, error) {
	if len(months) == 0 {
		return nil, nil
	}
	var out []string
	err := c.db.Read().Query(ctx, `SELECT DISTINCT district_code FROM bookings WHERE month IN (`+sqlstore.Placeholders(len(months))+`) ORDER BY district_code`,
		strs(months), func(scan func(...any) error) error {
			var d string
			if err := scan(&d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("districts with bookings: %w", err)
	}
	return out, nil
}

// ClosedMonths implements store.Store.
func (c *Core) ClosedMonths(ctx context.Context, district string) ([]store.Closed, error) {
	return closedMonths(ctx, c.db.Read(), district)
}

func closedMonths(ctx context.Context, q sqlstore.Q, district string) ([]store.Closed, error) {
	var out []store.Closed
	err := q.Query(ctx, `SELECT month, close_us, closed_by, total_cents FROM statement_months WHERE district_code = ? ORDER BY month`,
		[]any{district}, func(scan func(...any) error) error {
			cl := store.Closed{District: district}
			var us int64
			if err := scan(&cl.Month, &us, &cl.By, &cl.Total); err != nil {
				return err
			}
			cl.Time = ts(us).AsTime()
			out = append(out, cl)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("closed months: %w", err)
	}
	return out, nil
}

// FrozenLines implements store.Store.
func (c *Core) FrozenLines(ctx context.Context, district, month string) ([]store.FrozenLine, error) {
	var out []store.FrozenLine
	err := c.db.Read().Query(ctx, `SELECT mediator_id, payer_org, doc FROM statement_lines WHERE district_code = ? AND month = ? ORDER BY seq`,
		[]any{district, month}, func(scan func(...any) error) error {
			var fl store.FrozenLine
			var doc string
			if err := scan(&fl.MediatorID, &fl.Payer, &doc); err != nil {
				return err
			}
			fl.Line = &mediatorsv1.StatementLine{}
			if err := unmarshal.Unmarshal([]byte(doc), fl.Line); err != nil {
				return fmt.Errorf("decode statement line: %w", err)
			}
			out = append(out, fl)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("frozen lines: %w", err)
	}
	return out, nil
}

// Billed implements store.Store.
func (c *Core) Billed(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	q := c.db.Read()
	err := sqlstore.EachIn(q, "booking_id", ids, func(cond string, args []any) error {
		return q.Query(ctx, `SELECT booking_id, amount_cents FROM billed WHERE `+cond, args, func(scan func(...any) error) error {
			var id string
			var v int64
			if err := scan(&id, &v); err != nil {
				return err
			}
			out[id] = v
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("billed amounts: %w", err)
	}
	return out, nil
}

// CloseMonth implements store.Store. compute reads through the store's reader, outside
// the transaction; the write transaction serialises closings of the same month (the
// primary key of statement_months), and a booking written between computing and
// committing is caught by the next open month's adjustment, since billed records what
// this month actually paid.
func (c *Core) CloseMonth(ctx context.Context, cl store.Closed, compute func(ctx context.Context) ([]store.FrozenLine, error)) (store.Closed, error) {
	lines, err := compute(ctx)
	if err != nil {
		return store.Closed{}, err
	}
	cl.Total = 0
	for _, l := range lines {
		cl.Total += l.Line.GetAmountCents()
	}
	err = c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		_, err := q.Exec(ctx, `INSERT INTO statement_months (district_code, month, close_us, closed_by, total_cents) VALUES (?, ?, ?, ?, ?)`,
			cl.District, cl.Month, cl.Time.UnixMicro(), cl.By, cl.Total)
		if errors.Is(err, sqlstore.ErrUnique) {
			return storage.FieldErrorf(store.ErrAlreadyExists, "month", "%s is already closed for district %s", cl.Month, cl.District)
		}
		if err != nil {
			return fmt.Errorf("close month: %w", err)
		}
		rows := make([][]any, len(lines))
		for i, l := range lines {
			doc, err := marshal.Marshal(l.Line)
			if err != nil {
				return fmt.Errorf("encode statement line: %w", err)
			}
			rows[i] = []any{cl.District, cl.Month, int64(i), l.MediatorID, l.Payer, l.Line.GetBookingId(), l.Line.GetAmountCents(), string(doc)}
		}
		if err := sqlstore.InsertRows(ctx, q, "statement_lines",
			[]string{"district_code", "month", "seq", "mediator_id", "payer_org", "booking_id", "amount_cents", "doc"}, rows); err != nil {
			return fmt.Errorf("freeze statement lines: %w", err)
		}
		for _, l := range lines {
			n, err := q.Exec(ctx, `UPDATE billed SET amount_cents = amount_cents + ? WHERE booking_id = ?`, l.Line.GetAmountCents(), l.Line.GetBookingId())
			if err != nil {
				return fmt.Errorf("record billed amount: %w", err)
			}
			if n == 0 {
				if _, err := q.Exec(ctx, `INSERT INTO billed (booking_id, amount_cents) VALUES (?, ?)`, l.Line.GetBookingId(), l.Line.GetAmountCents()); err != nil {
					return fmt.Errorf("record billed amount: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.Closed{}, err
	}
	return cl, nil
}
