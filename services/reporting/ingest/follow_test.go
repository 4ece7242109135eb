package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/reporting/ingest"
	"github.com/ponte-network/ponte/services/reporting/store"
	"github.com/ponte-network/ponte/services/reporting/store/sqlcore"
)

// logSource is a feed held in memory: entry i (position i+1) sets fact key[i] to the day
// day[i], or deletes it when day[i] < 0. It counts the entries it hands out, and fails
// while broken is set. The follower's contract is what is under test: cursors, pages,
// replay and rebuild over real stores.
type logSource struct {
	name    string
	mu      sync.Mutex
	keys    []string
	days    []int32
	served  int
	broken  bool
	perPage int
}

func (s *logSource) append(key string, day int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.days = append(s.keys, key), append(s.days, day)
}

func (s *logSource) Name() string { return s.name }

func (s *logSource) Read(_ context.Context, after int64, page *ingest.Page) (ingest.Read, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return ingest.Read{}, errors.New("unavailable")
	}
	head := int64(len(s.keys))
	r := ingest.Read{Next: after, Head: head}
	for pos := after + 1; pos <= head && pos <= after+int64(s.perPage); pos++ {
		key, day := s.keys[pos-1], s.days[pos-1]
		id := s.name + ":" + key
		if day < 0 {
			page.Add(store.Change{ID: id})
		} else {
			// A fact keeps the day it was first seen, as delivery_reached does: the
			// page's Prior must see what the same page added before.
			if old, had, err := page.Prior(id); err != nil {
				return ingest.Read{}, err
			} else if had {
				day = old.Day
			}
			page.Add(store.Change{ID: id, Fact: &store.Fact{Kind: "k", Day: day, Cell: "src=" + s.name, Key: 1}})
		}
		r.Next, r.Entries = pos, r.Entries+1
		s.served++
	}
	return r, nil
}

func count(t *testing.T, st store.Store, source string) int64 {
	t.Helper()
	rows, err := st.Counts(t.Context(), "k", 0, 40000, false)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		if r.Cell == "src="+source {
			n += r.N
		}
	}
	return n
}

func cursor(t *testing.T, st store.Store, source string) int64 {
	t.Helper()
	cs, err := st.Cursors(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Source == source {
			return c.Position
		}
	}
	return 0
}

func TestFollowerKeepsOneCursorPerSource(t *testing.T) {
	t.Parallel()
	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		tests := []struct {
			name string
			run  func(t *testing.T, st store.Store, a, b *logSource, f *ingest.Follower)
		}{
			{"each source is read to its head, in pages, under its own cursor", func(t *testing.T, st store.Store, a, b *logSource, f *ingest.Follower) {
				for i := range 7 {
					a.append(fmt.Sprint(i), 20454)
				}
				b.append("x", 20454)
				if n, err := f.Sync(t.Context()); err != nil || n != 8 {
					t.Fatalf("Sync = %d, %v; want 8 entries", n, err)
				}
				if cursor(t, st, "a") != 7 || cursor(t, st, "b") != 1 || count(t, st, "a") != 7 || count(t, st, "b") != 1 {
					t.Fatalf("cursors a=%d b=%d, facts a=%d b=%d", cursor(t, st, "a"), cursor(t, st, "b"), count(t, st, "a"), count(t, st, "b"))
				}
				lags := f.Lags()
				if lags["a"].Entries != 0 || lags["b"].Entries != 0 || lags["a"].ReadTime.IsZero() {
					t.Fatalf("lags = %+v, want both caught up", lags)
				}
				// Only what is new is read again.
				a.append("7", 20455)
				a.served, b.served = 0, 0
				if n, err := f.Sync(t.Context()); err != nil || n != 1 || a.served != 1 || b.served != 0 {
					t.Fatalf("second Sync = %d, %v, served a=%d b=%d; want the one new entry", n, err, a.served, b.served)
				}
			}},
			{"a failing source leaves the others read and its cursor where it was", func(t *testing.T, st store.Store, a, b *logSource, f *ingest.Follower) {
				a.append("1", 20454)
				b.append("1", 20454)
				a.broken = true
				_, err := f.Sync(t.Context())
				if err == nil || cursor(t, st, "b") != 1 || cursor(t, st, "a") != 0 {
					t.Fatalf("Sync = %v, cursors a=%d b=%d; want an error naming a, b read", err, cursor(t, st, "a"), cursor(t, st, "b"))
				}
				a.broken = false
				if _, err := f.Sync(t.Context()); err != nil || count(t, st, "a") != 1 {
					t.Fatalf("Sync after recovery = %v, facts of a = %d", err, count(t, st, "a"))
				}
			}},
			{"a follower restarted on the same store reads nothing twice", func(t *testing.T, st store.Store, a, b *logSource, f *ingest.Follower) {
				for i := range 5 {
					a.append(fmt.Sprint(i), 20454)
				}
				if _, err := f.Sync(t.Context()); err != nil {
					t.Fatal(err)
				}
				a.append("5", 20454)
				a.served = 0
				restarted := &ingest.Follower{Sources: []ingest.Source{a, b}, Store: st}
				if _, err := restarted.Sync(t.Context()); err != nil || a.served != 1 || count(t, st, "a") != 6 {
					t.Fatalf("restarted Sync = %v, served %d, facts %d; want the one new entry read, 6 facts", err, a.served, count(t, st, "a"))
				}
			}},
			{"a rebuild re-reads every source from zero and gives the same facts", func(t *testing.T, st store.Store, a, b *logSource, f *ingest.Follower) {
				a.append("1", 20454)
				a.append("2", 20454)
				a.append("1", 20460) // keeps its first day
				a.append("2", -1)    // deleted
				b.append("1", 20454)
				if _, err := f.Sync(t.Context()); err != nil {
					t.Fatal(err)
				}
				before, err := st.Fact(t.Context(), "a:1")
				if err != nil || before.Day != 20454 || count(t, st, "a") != 1 {
					t.Fatalf("fact a:1 = %+v, %v; facts of a = %d", before, err, count(t, st, "a"))
				}
				a.served, b.served = 0, 0
				if err := f.Rebuild(t.Context(), st.Reset); err != nil {
					t.Fatal(err)
				}
				after, err := st.Fact(t.Context(), "a:1")
				if err != nil || after != before || a.served != 4 || b.served != 1 || count(t, st, "b") != 1 {
					t.Fatalf("after rebuild a:1 = %+v, %v; served a=%d b=%d", after, err, a.served, b.served)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				st, err := sqlcore.Open(t.Context(), newConfig(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				a, b := &logSource{name: "a", perPage: 2}, &logSource{name: "b", perPage: 2}
				tt.run(t, st, a, b, &ingest.Follower{Sources: []ingest.Source{a, b}, Store: st})
			})
		}
	})
}
