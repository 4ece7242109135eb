// Package store is the reporting service's storage: anonymous facts, the rollups kept
// from them as they arrive, the person presences that distinct counts need, and one
// durable cursor per source feed. Implementations must pass storetest.Run.
//
// A fact holds no personal data: a kind, a civil day, a cell (its dimension values,
// see EncodeCell), a keyed pseudonym of the person (or none) and two 32-bit keys for the
// cell-key method. Apply writes facts and moves a source's cursor in one transaction:
// a reader that crashes between two batches re-reads the second and, the cursor being
// behind it, applies it once.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fact is one anonymous fact.
type Fact struct {
	ID        string // deterministic from the source record ("case:<id>:opened")
	Source    string // the feed ("cases")
	Kind      string // what happened ("case_opened")
	Day       int32  // civil day in Europe/Rome, as days since 1970-01-01
	Cell      string // EncodeCell of its dimension values
	Person    string // keyed pseudonym (hex), or empty
	Key       uint32 // the fact's record key
	PersonKey uint32 // the person's record key (distinct counts), 0 without a person
	Quantity  int64  // minutes, days, cents: what sums and medians measure
}

// Change replaces the fact ID: Fact nil deletes it.
type Change struct {
	ID   string
	Fact *Fact
}

// Batch is what one read of a source feed changes.
type Batch struct {
	Source    string
	Position  int64     // the cursor after the batch
	Head      int64     // the feed's head when read
	EntryTime time.Time // when the last entry read was written
	Changes   []Change
}

// Cursor is how far reporting has read a source.
type Cursor struct {
	Source    string
	Position  int64
	Head      int64
	EntryTime time.Time
	ReadTime  time.Time
}

// CountRow is one rollup row: the facts of one kind, period and cell.
type CountRow struct {
	Period int32 // day (days since epoch) or month (year*12 + month-1)
	Cell   string
	N      int64  // facts
	KeySum uint32 // sum of their keys modulo 2^32
	Sum    int64  // sum of their quantities
}

// PersonRow says that a person has facts of one kind on a day in a cell.
type PersonRow struct {
	Day       int32
	Cell      string
	Person    string
	PersonKey uint32
}

// Store keeps reporting's facts.
type Store interface {
	// Apply applies the batch's changes (a change equal to the stored fact is a no-op)
	// and sets the source's cursor, in one transaction. A batch whose Position is not
	// after the stored cursor is ignored: it was applied already.
	Apply(ctx context.Context, b Batch) error
	// Fact returns the stored fact with that id, or ErrNotFound.
	Fact(ctx context.Context, id string) (Fact, error)
	// Cursors returns every source's cursor, by source.
	Cursors(ctx context.Context) ([]Cursor, error)
	// Counts returns the rollup rows of kind from day from to day to (both included):
	// one row per day and cell, or per month and cell when monthly (then every month
	// touching the range).
	Counts(ctx context.Context, kind string, from, to int32, monthly bool) ([]CountRow, error)
	// Persons returns the presences of kind from day from to day to.
	Persons(ctx context.Context, kind string, from, to int32) ([]PersonRow, error)
	// Reset deletes every fact, rollup and cursor: ingestion then rebuilds from zero.
	Reset(ctx context.Context) error
	// Ready returns nil when the store can serve.
	Ready(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// ErrNotFound is returned for a fact that is not stored.
var ErrNotFound = errors.New("fact not found")

// EncodeCell writes dimension values as the cell string facts and rollups carry:
// "dim=value" pairs sorted by dimension, joined by ";". Empty values are left out.
// Dimension names and values may not contain ";" or "=".
func EncodeCell(values map[string]string) (string, error) {
	dims := make([]string, 0, len(values))
	for d, v := range values {
		if strings.ContainsAny(d, ";=") || strings.ContainsAny(v, ";=") || d == "" {
			return "", fmt.Errorf("cell value %q=%q: names and values may not contain ';' or '='", d, v)
		}
		if v != "" {
			dims = append(dims, d)
		}
	}
	slices.Sort(dims)
	var b strings.Builder
	for i, d := range dims {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(d)
		b.WriteByte('=')
		b.WriteString(values[d])
	}
	return b.String(), nil
}

// DecodeCell returns the value of each dimension of an encoded cell.
func DecodeCell(cell string) map[string]string {
	out := map[string]string{}
	for pair := range strings.SplitSeq(cell, ";") {
		if d, v, ok := strings.Cut(pair, "="); ok {
			out[d] = v
		}
	}
	return out
}

// Epoch day and month helpers: reporting counts civil days in Europe/Rome.

// Rome is the time zone of civil days.
var Rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded by the binary; tests have the system's
	}
	return loc
}

// DayOf returns the civil day (in Europe/Rome) of t, as days since 1970-01-01.
func DayOf(t time.Time) int32 {
	y, m, d := t.In(Rome).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Date returns the civil date of a day number.
func Date(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// MonthOf returns the month number (year*12 + month-1) of a day number.
func MonthOf(day int32) int32 {
	d := Date(day)
	return int32(d.Year()*12 + int(d.Month()) - 1)
}
