package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// Core is the reporting store on either dialect.
type Core struct {
	db sqlstore.DB
}

var _ store.Store = (*Core)(nil)

// Ready returns nil when the database answers and its schema is current.
func (c *Core) Ready(ctx context.Context) error { return c.db.Ready(ctx) }

// Close releases the database.
func (c *Core) Close() error { return c.db.Close() }

const factColumns = "id, source, kind, day, cell, person, fkey, pkey, quantity"

func scanFact(scan func(...any) error) (store.Fact, error) {
	var f store.Fact
	var fkey, pkey int64
	if err := scan(&f.ID, &f.Source, &f.Kind, &f.Day, &f.Cell, &f.Person, &fkey, &pkey, &f.Quantity); err != nil {
		return store.Fact{}, err
	}
	f.Key, f.PersonKey = uint32(fkey), uint32(pkey)
	return f, nil
}

// Fact returns the stored fact with that id.
func (c *Core) Fact(ctx context.Context, id string) (store.Fact, error) {
	return getFact(ctx, c.db.Read(), id)
}

func getFact(ctx context.Context, q sqlstore.Q, id string) (store.Fact, error) {
	var out store.Fact
	found := false
	err := q.Query(ctx, "SELECT "+factColumns+" FROM facts WHERE id = ?", []any{id}, func(scan func(...any) error) error {
		f, err := scanFact(scan)
		out, found = f, true
		return err
	})
	if err != nil {
		return store.Fact{}, fmt.Errorf("read fact: %w", err)
	}
	if !found {
		return store.Fact{}, store.ErrNotFound
	}
	return out, nil
}

// Apply applies a batch and moves its source's cursor, in one transaction.
func (c *Core) Apply(ctx context.Context, b store.Batch) error {
	if b.Source == "" {
		return errors.New("apply batch: no source")
	}
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		var position int64 = -1
		err := q.Query(ctx, "SELECT position FROM cursors WHERE source = ?", []any{b.Source}, func(scan func(...any) error) error {
			return scan(&position)
		})
		if err != nil {
			return err
		}
		if position >= b.Position {
			return nil // applied already
		}
		for _, ch := range b.Changes {
			if err := applyChange(ctx, q, b.Source, ch); err != nil {
				return fmt.Errorf("fact %s: %w", ch.ID, err)
			}
		}
		_, err = q.Exec(ctx, `INSERT INTO cursors (source, position, head, entry_us, read_us) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source) DO UPDATE SET position = excluded.position, head = excluded.head, entry_us = excluded.entry_us, read_us = excluded.read_us`,
			b.Source, b.Position, max(b.Head, b.Position), micros(b.EntryTime), micros(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("apply batch of %s at %d: %w", b.Source, b.Position, err)
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// applyChange replaces one fact, taking the old one out of the rollups and putting the
// new one in.
func applyChange(ctx context.Context, q sqlstore.Q, source string, ch store.Change) error {
	old, err := getFact(ctx, q, ch.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = nil
	case err != nil:
		return err
	}
	exists := err == nil && old.ID != ""
	if ch.Fact != nil {
		f := *ch.Fact
		f.ID, f.Source = ch.ID, source
		if exists && old == f {
			return nil
		}
		ch.Fact = &f
	}
	if exists {
		if err := roll(ctx, q, old, -1); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, "DELETE FROM facts WHERE id = ?", ch.ID); err != nil {
			return err
		}
	}
	if ch.Fact == nil {
		return nil
	}
	f := *ch.Fact
	if _, err := q.Exec(ctx, "INSERT INTO facts ("+factColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		f.ID, f.Source, f.Kind, f.Day, f.Cell, f.Person, int64(f.Key), int64(f.PersonKey), f.Quantity); err != nil {
		return err
	}
	return roll(ctx, q, f, 1)
}

// roll adds (sign 1) or takes out (sign -1) a fact from the day and month rollups and
// from the presences.
func roll(ctx context.Context, q sqlstore.Q, f store.Fact, sign int64) error {
	key := int64(f.Key)
	if sign < 0 {
		key = (1<<32 - key) % (1 << 32)
	}
	for _, r := range []struct {
		table  string
		period int32
	}{{"rollup_day", f.Day}, {"rollup_month", store.MonthOf(f.Day)}} {
		if _, err := q.Exec(ctx, `INSERT INTO `+r.table+` (kind, period, cell, n, ksum, qsum) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, period, cell) DO UPDATE SET n = `+r.table+`.n + excluded.n,
  ksum = (`+r.table+`.ksum + excluded.ksum) % 4294967296, qsum = `+r.table+`.qsum + excluded.qsum`,
			f.Kind, r.period, f.Cell, sign, key, sign*f.Quantity); err != nil {
			return err
		}
		if sign < 0 {
			if _, err := q.Exec(ctx, "DELETE FROM "+r.table+" WHERE kind = ? AND period = ? AND cell = ? AND n = 0", f.Kind, r.period, f.Cell); err != nil {
				return err
			}
		}
	}
	if f.Person == "" {
		return nil
	}
	if _, err := q.Exec(ctx, `INSERT INTO presence (kind, day, cell, person, pkey, n) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, day, cell, person) DO UPDATE SET n = presence.n + excluded.n`,
		f.Kind, f.Day, f.Cell, f.Person, int64(f.PersonKey), sign); err != nil {
		return err
	}
	if sign < 0 {
		_, err := q.Exec(ctx, "DELETE FROM presence WHERE kind = ? AND day = ? AND cell = ? AND person = ? AND n = 0", f.Kind, f.Day, f.Cell, f.Person)
		return err
	}
	return nil
}

// Cursors returns every source's cursor.
func (c *Core) Cursors(ctx context.Context) ([]store.Cursor, error) {
	var out []store.Cursor
	err := c.db.Read().Query(ctx, "SELECT source, position, head, entry_us, read_us FROM cursors ORDER BY source", nil, func(scan func(...any) error) error {
		var cur store.Cursor
		var entry, read int64
		if err := scan(&cur.Source, &cur.Position, &cur.Head, &entry, &read); err != nil {
			return err
		}
		if entry != 0 {
			cur.EntryTime = time.UnixMicro(entry).UTC()
		}
		cur.ReadTime = time.UnixMicro(read).UTC()
		out = append(out, cur)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", err)
	}
	return out, nil
}

// Counts returns rollup rows.
func (c *Core) Counts(ctx context.Context, kind string, from, to int32, monthly bool) ([]store.CountRow, error) {
	table := "rollup_day"
	if monthly {
		table, from, to = "rollup_month", store.MonthOf(from), store.MonthOf(to)
	}
	var out []store.CountRow
	err := c.db.Read().Query(ctx, "SELECT period, cell, n, ksum, qsum FROM "+table+" WHERE kind = ? AND period >= ? AND period <= ?",
		[]any{kind, from, to}, func(scan func(...any) error) error {
			var r store.CountRow
			var ksum int64
			if err := scan(&r.Period, &r.Cell, &r.N, &ksum, &r.Sum); err != nil {
				return err
			}
			r.KeySum = uint32(ksum)
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read rollups of %s: %w", kind, err)
	}
	return out, nil
}

// Persons returns presences.
func (c *Core) Persons(ctx context.Context, kind string, from, to int32) ([]store.PersonRow, error) {
	var out []store.PersonRow
	err := c.db.Read().Query(ctx, "SELECT day, cell, person, pkey FROM presence WHERE kind = ? AND day >= ? AND day <= ?",
		[]any{kind, from, to}, func(scan func(...any) error) error {
			var r store.PersonRow
			var pkey int64
			if err := scan(&r.Day, &r.Cell, &r.Person, &pkey); err != nil {
				return err
			}
			r.PersonKey = uint32(pkey)
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read presences of %s: %w", kind, err)
	}
	return out, nil
}

// Reset deletes everything.
func (c *Core) Reset(ctx context.Context) error {
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		for _, t := range []string{"facts", "rollup_day", "rollup_month", "presence", "cursors"} {
			if _, err := q.Exec(ctx, "DELETE FROM "+t); err != nil {
				return fmt.Errorf("reset %s: %w", t, err)
			}
		}
		return nil
	})
}
