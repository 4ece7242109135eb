// Package storetest is the conformance suite every reporting store must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/services/reporting/store"
)

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"applied facts are counted in the day and month rollups", testRollups},
		{"a changed fact leaves its old cell and an emptied cell disappears", testReplace},
		{"a deleted fact is taken out of every rollup", testDelete},
		{"a batch at or before the cursor is not applied twice", testIdempotent},
		{"key sums wrap modulo two to the thirty-second", testKeyWrap},
		{"a person with several facts in a cell on a day is present once", testPresence},
		{"reset empties facts, rollups and cursors", testReset},
		{"sources applying batches concurrently lose no fact", testConcurrent},
		{"the last change of a fact in one batch wins", testLastWins},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

const day0 = int32(20454) // 2026-01-01

func fact(id, cell string, day int32, key uint32) store.Change {
	return store.Change{ID: id, Fact: &store.Fact{Kind: "case_opened", Day: day, Cell: cell, Key: key, Quantity: 10}}
}

func apply(t *testing.T, s store.Store, source string, position int64, changes ...store.Change) {
	t.Helper()
	if err := s.Apply(t.Context(), store.Batch{Source: source, Position: position, Head: position, EntryTime: time.Now(), Changes: changes}); err != nil {
		t.Fatalf("apply at %d: %v", position, err)
	}
}

func counts(t *testing.T, s store.Store, monthly bool) map[string]store.CountRow {
	t.Helper()
	rows, err := s.Counts(t.Context(), "case_opened", day0-400, day0+400, monthly)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.CountRow{}
	for _, r := range rows {
		out[fmt.Sprintf("%d/%s", r.Period, r.Cell)] = r
	}
	return out
}

func testRollups(t *testing.T, s store.Store) {
	apply(t, s, "cases", 3, fact("a", "municipality=019036", day0, 1), fact("b", "municipality=019036", day0, 2), fact("c", "municipality=019036", day0+1, 4))
	days := counts(t, s, false)
	if r := days[fmt.Sprintf("%d/municipality=019036", day0)]; r.N != 2 || r.KeySum != 3 || r.Sum != 20 {
		t.Fatalf("day row = %+v, want 2 facts, key sum 3, sum 20", r)
	}
	if len(days) != 2 {
		t.Fatalf("day rows = %v, want 2", days)
	}
	months := counts(t, s, true)
	if r := months[fmt.Sprintf("%d/municipality=019036", store.MonthOf(day0))]; r.N != 3 || r.KeySum != 7 {
		t.Fatalf("month row = %+v, want 3 facts, key sum 7", r)
	}
	f, err := s.Fact(t.Context(), "b")
	if err != nil || f.Source != "cases" || f.Day != day0 {
		t.Fatalf("Fact(b) = %+v, %v", f, err)
	}
	if _, err := s.Fact(t.Context(), "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Fact of an unknown id = %v, want ErrNotFound", err)
	}
	cur, err := s.Cursors(t.Context())
	if err != nil || len(cur) != 1 || cur[0].Source != "cases" || cur[0].Position != 3 {
		t.Fatalf("cursors = %+v, %v", cur, err)
	}
}

func testReplace(t *testing.T, s store.Store) {
	apply(t, s, "cases", 1, fact("a", "municipality=019036", day0, 1))
	apply(t, s, "cases", 2, fact("a", "municipality=019035", day0, 1))
	got := counts(t, s, false)
	if _, ok := got[fmt.Sprintf("%d/municipality=019036", day0)]; ok || len(got) != 1 {
		t.Fatalf("rows = %v, want only municipality 019035", got)
	}
	if got[fmt.Sprintf("%d/municipality=019035", day0)].N != 1 {
		t.Fatalf("rows = %v", got)
	}
}

func testDelete(t *testing.T, s store.Store) {
	apply(t, s, "cases", 1, fact("a", "x=1", day0, 1), fact("b", "x=1", day0, 1))
	apply(t, s, "cases", 2, store.Change{ID: "a"}, store.Change{ID: "never-stored"})
	got := counts(t, s, true)
	if r := got[fmt.Sprintf("%d/x=1", store.MonthOf(day0))]; r.N != 1 || r.KeySum != 1 {
		t.Fatalf("month row = %+v, want one fact left", r)
	}
	if _, err := s.Fact(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted fact: %v", err)
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	apply(t, s, "cases", 5, fact("a", "x=1", day0, 1))
	apply(t, s, "cases", 5, fact("b", "x=1", day0, 1))
	apply(t, s, "cases", 4, fact("c", "x=1", day0, 1))
	apply(t, s, "cases", 6, fact("a", "x=1", day0, 1)) // the same fact again: unchanged
	if r := counts(t, s, false)[fmt.Sprintf("%d/x=1", day0)]; r.N != 1 {
		t.Fatalf("row = %+v, want the first batch only", r)
	}
}

func testKeyWrap(t *testing.T, s store.Store) {
	apply(t, s, "cases", 1, fact("a", "x=1", day0, 1<<32-1), fact("b", "x=1", day0, 3))
	if r := counts(t, s, false)[fmt.Sprintf("%d/x=1", day0)]; r.KeySum != 2 {
		t.Fatalf("key sum = %d, want 2", r.KeySum)
	}
	apply(t, s, "cases", 2, store.Change{ID: "b"})
	if r := counts(t, s, false)[fmt.Sprintf("%d/x=1", day0)]; r.KeySum != 1<<32-1 {
		t.Fatalf("key sum after taking 3 out = %d, want 2^32-1", r.KeySum)
	}
}

func testPresence(t *testing.T, s store.Store) {
	withPerson := func(id, person string, day int32) store.Change {
		c := fact(id, "x=1", day, 1)
		c.Fact.Person, c.Fact.PersonKey = person, 9
		return c
	}
	apply(t, s, "cases", 1, withPerson("a", "p1", day0), withPerson("b", "p1", day0), withPerson("c", "p2", day0), withPerson("d", "p1", day0+2))
	apply(t, s, "cases", 2, store.Change{ID: "a"})
	rows, err := s.Persons(t.Context(), "case_opened", day0, day0+1)
	if err != nil {
		t.Fatal(err)
	}
	var persons []string
	for _, r := range rows {
		persons = append(persons, r.Person)
		if r.PersonKey != 9 {
			t.Fatalf("presence %+v lost its key", r)
		}
	}
	slices.Sort(persons)
	if !slices.Equal(persons, []string{"p1", "p2"}) {
		t.Fatalf("persons present = %v, want p1 (still one fact) and p2", persons)
	}
}

func testReset(t *testing.T, s store.Store) {
	apply(t, s, "cases", 1, withQuantity(fact("a", "x=1", day0, 1)))
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, s, false); len(got) != 0 {
		t.Fatalf("rows after reset = %v", got)
	}
	if cur, _ := s.Cursors(t.Context()); len(cur) != 0 {
		t.Fatalf("cursors after reset = %v", cur)
	}
	apply(t, s, "cases", 1, fact("a", "x=1", day0, 1)) // position 1 again, after the reset
	if len(counts(t, s, false)) != 1 {
		t.Fatal("a rebuild from zero was ignored")
	}
}

func withQuantity(c store.Change) store.Change { c.Fact.Quantity = 7; return c }

func testConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for src := range 4 {
		wg.Go(func() {
			for pos := int64(1); pos <= 10; pos++ {
				c := fact(fmt.Sprintf("s%d-%d", src, pos), "x=1", day0, 1)
				if err := s.Apply(context.Background(), store.Batch{Source: fmt.Sprint("src", src), Position: pos, Changes: []store.Change{c}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if r := counts(t, s, false)[fmt.Sprintf("%d/x=1", day0)]; r.N != 40 || r.KeySum != 40 {
		t.Fatalf("row = %+v, want 40 facts", r)
	}
}

func testLastWins(t *testing.T, s store.Store) {
	apply(t, s, "cases", 1, fact("a", "x=1", day0, 1), fact("a", "x=2", day0, 1), fact("b", "x=1", day0, 1), store.Change{ID: "b"})
	got := counts(t, s, false)
	if len(got) != 1 || got[fmt.Sprintf("%d/x=2", day0)].N != 1 {
		t.Fatalf("rows = %v, want a in x=2 only", got)
	}
	apply(t, s, "cases", 2, store.Change{ID: "a"}, fact("a", "x=3", day0, 1))
	got = counts(t, s, false)
	if len(got) != 1 || got[fmt.Sprintf("%d/x=3", day0)].N != 1 {
		t.Fatalf("rows = %v, want a moved to x=3", got)
	}
}
