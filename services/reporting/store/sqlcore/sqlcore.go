package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		if err := applyChanges(ctx, q, b.Source, b.Changes); err != nil {
			return err
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

// applyChanges replaces facts by sets: one read of the old facts, their deletion, one
// bulk insert of the new ones (COPY on PostgreSQL), and one upsert per rollup row and
// presence the batch touches, with the deltas of all its facts summed first. A batch
// of many facts in few cells (the common case) writes few rollup rows.
func applyChanges(ctx context.Context, q sqlstore.Q, source string, changes []store.Change) error {
	// The last change of an id wins, as if applied in order.
	final := map[string]*store.Fact{}
	var ids []string
	for _, ch := range changes {
		if _, seen := final[ch.ID]; !seen {
			ids = append(ids, ch.ID)
		}
		if ch.Fact != nil {
			f := *ch.Fact
			f.ID, f.Source = ch.ID, source
			final[ch.ID] = &f
		} else {
			final[ch.ID] = nil
		}
	}
	old := map[string]store.Fact{}
	err := sqlstore.EachIn(q, "id", ids, func(cond string, args []any) error {
		return q.Query(ctx, "SELECT "+factColumns+" FROM facts WHERE "+cond, args, func(scan func(...any) error) error {
			f, err := scanFact(scan)
			old[f.ID] = f
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("read facts: %w", err)
	}
	d := deltas{rollups: map[rollupKey]*rollupDelta{}, presence: map[presenceKey]*presenceDelta{}}
	var gone []string
	var rows [][]any
	for _, id := range ids {
		f := final[id]
		o, had := old[id]
		if had && f != nil && o == *f {
			continue
		}
		if had {
			d.add(o, -1)
			gone = append(gone, id)
		}
		if f != nil {
			d.add(*f, 1)
			rows = append(rows, []any{f.ID, f.Source, f.Kind, f.Day, f.Cell, f.Person, int64(f.Key), int64(f.PersonKey), f.Quantity})
		}
	}
	if err := sqlstore.EachIn(q, "id", gone, func(cond string, args []any) error {
		_, err := q.Exec(ctx, "DELETE FROM facts WHERE "+cond, args...)
		return err
	}); err != nil {
		return fmt.Errorf("delete facts: %w", err)
	}
	if len(rows) > 0 {
		if err := sqlstore.InsertRows(ctx, q, "facts", strings.Split(factColumns, ", "), rows); err != nil {
			return fmt.Errorf("insert facts: %w", err)
		}
	}
	return d.write(ctx, q)
}

type rollupKey struct {
	table  string
	kind   string
	period int32
	cell   string
}

type rollupDelta struct {
	n, qsum int64
	ksum    uint32
}

type presenceKey struct {
	kind   string
	day    int32
	cell   string
	person string
}

type presenceDelta struct {
	n    int64
	pkey uint32
}

// deltas are a batch's changes to the rollups and presences, summed.
type deltas struct {
	rollups  map[rollupKey]*rollupDelta
	presence map[presenceKey]*presenceDelta
	order    []rollupKey // first-touch order, so that writes are deterministic
	porder   []presenceKey
}

// add counts a fact in (sign 1) or out (sign -1).
func (d *deltas) add(f store.Fact, sign int64) {
	for _, k := range []rollupKey{{"rollup_day", f.Kind, f.Day, f.Cell}, {"rollup_month", f.Kind, store.MonthOf(f.Day), f.Cell}} {
		r := d.rollups[k]
		if r == nil {
			r = &rollupDelta{}
			d.rollups[k] = r
			d.order = append(d.order, k)
		}
		r.n += sign
		r.qsum += sign * f.Quantity
		r.ksum += uint32(sign) * f.Key // modulo 2^32: -1 wraps, taking the key out
	}
	if f.Person == "" {
		return
	}
	k := presenceKey{f.Kind, f.Day, f.Cell, f.Person}
	p := d.presence[k]
	if p == nil {
		p = &presenceDelta{}
		d.presence[k] = p
		d.porder = append(d.porder, k)
	}
	p.n += sign
	p.pkey = f.PersonKey
}

func (d *deltas) write(ctx context.Context, q sqlstore.Q) error {
	for _, k := range d.order {
		r := d.rollups[k]
		if r.n == 0 && r.qsum == 0 && r.ksum == 0 {
			continue
		}
		if _, err := q.Exec(ctx, `INSERT INTO `+k.table+` (kind, period, cell, n, ksum, qsum) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, period, cell) DO UPDATE SET n = `+k.table+`.n + excluded.n,
  ksum = (`+k.table+`.ksum + excluded.ksum) % 4294967296, qsum = `+k.table+`.qsum + excluded.qsum`,
			k.kind, k.period, k.cell, r.n, int64(r.ksum), r.qsum); err != nil {
			return fmt.Errorf("update %s: %w", k.table, err)
		}
		if r.n < 0 {
			if _, err := q.Exec(ctx, "DELETE FROM "+k.table+" WHERE kind = ? AND period = ? AND cell = ? AND n = 0", k.kind, k.period, k.cell); err != nil {
				return fmt.Errorf("update %s: %w", k.table, err)
			}
		}
	}
	for _, k := range d.porder {
		p := d.presence[k]
		if p.n == 0 {
			continue
		}
		if _, err := q.Exec(ctx, `INSERT INTO presence (kind, day, cell, person, pkey, n) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, day, cell, person) DO UPDATE SET n = presence.n + excluded.n`,
			k.kind, k.day, k.cell, k.person, int64(p.pkey), p.n); err != nil {
			return fmt.Errorf("update presence: %w", err)
		}
		if p.n < 0 {
			if _, err := q.Exec(ctx, "DELETE FROM presence WHERE kind = ? AND day = ? AND cell = ? AND person = ? AND n = 0", k.kind, k.day, k.cell, k.person); err != nil {
				return fmt.Errorf("update presence: %w", err)
			}
		}
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
