// Package changelogtest is the conformance suite every changelog-backed store runs: the
// Feed contract (Run) and the ordering guarantee under concurrent writers
// (RunConcurrentWriters).
package changelogtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
)

// Store is the part of a changelog-backed store the suite exercises.
type Store interface {
	// Write runs fn in one write transaction: what fn appends commits with it; fn's error
	// (or panic) rolls the transaction back and is returned (or re-raised).
	Write(ctx context.Context, fn func(log changelog.Appender) error) error
	// Feed returns the store's change feed.
	Feed() changelog.Feed
}

// ErrRollback is what the suite's writers return to roll a transaction back. A store's test
// hook that fails transactions on purpose should return it too, so that the suite counts
// those transactions as rolled back rather than as failures.
var ErrRollback = errors.New("changelogtest: rolled back on purpose")

// Run checks the Feed contract. newStore returns an empty store for one subtest and
// registers its own cleanup; subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"committed entries are listed in append order with positions, times and payloads", testCommitted},
		{"a batch of hundreds of entries is listed in append order with its payloads", testCommittedBatch},
		{"an error in fn records nothing and is returned", testErrorRollsBack},
		{"a panic in fn rolls back and keeps panicking", testPanicRollsBack},
		{"an invalid entry fails the whole transaction", testInvalidEntry},
		{"a transaction without entries leaves the head alone", testNoEntries},
		{"Generation has moved once a commit with entries returns", testGenerationCountsCommits},
		{"List pages through the log from any cursor", testListPaging},
		{"Watch delivers the backlog then live entries", testWatchBacklogThenLive},
		{"Watch from a cursor starts after it", testWatchFromCursor},
		{"Watch returns fn's error as is", testWatchFnError},
		{"Watch returns promptly when its context is cancelled", testWatchCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func entry(topic, key string, op changelog.Op, payload []byte) changelog.Entry {
	return changelog.Entry{Topic: topic, Key: key, Op: op, Payload: payload}
}

// writeN commits n entries in one transaction, keyed prefix-0..n-1.
func writeN(t *testing.T, s Store, prefix string, n int) {
	t.Helper()
	err := s.Write(ctxFor(t), func(log changelog.Appender) error {
		for i := range n {
			log.Append(entry("item", fmt.Sprintf("%s-%d", prefix, i), changelog.OpUpsert, []byte(prefix)))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Write(%s) = %v", prefix, err)
	}
}

func listAll(t *testing.T, f changelog.Feed) []changelog.Entry {
	t.Helper()
	got, err := f.List(ctxFor(t), 0, 10_000)
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	return got
}

func head(t *testing.T, f changelog.Feed) int64 {
	t.Helper()
	h, err := f.Head(ctxFor(t))
	if err != nil {
		t.Fatalf("Head() = %v", err)
	}
	return h
}

func testCommitted(t *testing.T, s Store) {
	checkCommitted(t, s, []changelog.Entry{
		entry("territory", "001", changelog.OpUpsert, []byte{0x0a, 0x03, 'R', 'o', 'm'}),
		entry("territory", "002", changelog.OpDelete, nil),
		entry("case", "c-1", changelog.OpUpsert, bytes.Repeat([]byte{0xff, 0x00}, 600)),
	})
}

// testCommittedBatch writes as many entries as a batch import does in one transaction
// (stores may write those differently from a few).
func testCommittedBatch(t *testing.T, s Store) {
	var want []changelog.Entry
	for i := range 300 {
		switch i % 3 {
		case 0:
			want = append(want, entry("case", fmt.Sprintf("c-%03d", i), changelog.OpUpsert, []byte(fmt.Sprintf(`{"n":%d}`, i))))
		case 1:
			want = append(want, entry("person", fmt.Sprintf("p-%03d", i), changelog.OpDelete, nil))
		default:
			want = append(want, entry("case", fmt.Sprintf("c-%03d", i), changelog.OpUpsert, bytes.Repeat([]byte{byte(i), 0x00, '\\', '\n'}, i)))
		}
	}
	checkCommitted(t, s, want)
}

// checkCommitted commits want in one transaction into an empty log and checks what List
// and Head return.
func checkCommitted(t *testing.T, s Store, want []changelog.Entry) {
	t.Helper()
	if h := head(t, s.Feed()); h != 0 {
		t.Fatalf("Head() of an empty log = %d, want 0", h)
	}
	before := time.Now().UTC().Truncate(time.Microsecond)
	err := s.Write(ctxFor(t), func(log changelog.Appender) error {
		for _, e := range want {
			log.Append(e)
		}
		return nil
	})
	after := time.Now().UTC()
	if err != nil {
		t.Fatalf("Write() = %v", err)
	}
	got := listAll(t, s.Feed())
	if len(got) != len(want) {
		t.Fatalf("List() returned %d entries, want %d", len(got), len(want))
	}
	var last int64
	for i, g := range got {
		w := want[i]
		if g.Position <= last {
			t.Errorf("entry %d: Position %d not above %d", i, g.Position, last)
		}
		last = g.Position
		if g.Topic != w.Topic || g.Key != w.Key || g.Op != w.Op || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("entry %d = %s/%s %s (%d bytes), want %s/%s %s (%d bytes)",
				i, g.Topic, g.Key, g.Op, len(g.Payload), w.Topic, w.Key, w.Op, len(w.Payload))
		}
		if g.Time.Before(before) || g.Time.After(after) || g.Time.Location() != time.UTC {
			t.Errorf("entry %d: Time %v not in UTC within [%v, %v]", i, g.Time, before, after)
		}
	}
	if h := head(t, s.Feed()); h != last {
		t.Errorf("Head() = %d, want the last position %d", h, last)
	}
}

func testErrorRollsBack(t *testing.T, s Store) {
	writeN(t, s, "kept", 1)
	h := head(t, s.Feed())
	err := s.Write(ctxFor(t), func(log changelog.Appender) error {
		log.Append(entry("item", "dropped", changelog.OpUpsert, nil))
		return ErrRollback
	})
	if !errors.Is(err, ErrRollback) {
		t.Fatalf("Write() = %v, want fn's error", err)
	}
	if got := listAll(t, s.Feed()); len(got) != 1 || got[0].Key != "kept-0" {
		t.Fatalf("List() after a rolled back write = %v, want only kept-0", keys(got))
	}
	if h2 := head(t, s.Feed()); h2 != h {
		t.Fatalf("Head() moved from %d to %d on a rolled back write", h, h2)
	}
}

func testPanicRollsBack(t *testing.T, s Store) {
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic from fn", r)
			}
		}()
		_ = s.Write(ctxFor(t), func(log changelog.Appender) error {
			log.Append(entry("item", "dropped", changelog.OpUpsert, nil))
			panic("boom")
		})
	}()
	if got := listAll(t, s.Feed()); len(got) != 0 {
		t.Fatalf("List() after a panicking write = %v, want nothing", keys(got))
	}
	writeN(t, s, "after", 1) // the store is still usable
}

func testInvalidEntry(t *testing.T, s Store) {
	err := s.Write(ctxFor(t), func(log changelog.Appender) error {
		log.Append(entry("item", "fine", changelog.OpUpsert, nil))
		log.Append(entry("item", "", changelog.OpUpsert, nil))
		return nil
	})
	if err == nil {
		t.Fatal("Write() accepted an entry without key")
	}
	if got := listAll(t, s.Feed()); len(got) != 0 {
		t.Fatalf("List() = %v, want nothing from the failed transaction", keys(got))
	}
}

func testNoEntries(t *testing.T, s Store) {
	writeN(t, s, "a", 2)
	h := head(t, s.Feed())
	if err := s.Write(ctxFor(t), func(changelog.Appender) error { return nil }); err != nil {
		t.Fatalf("Write() without entries = %v", err)
	}
	if h2 := head(t, s.Feed()); h2 != h {
		t.Fatalf("Head() moved from %d to %d", h, h2)
	}
}

func testGenerationCountsCommits(t *testing.T, s Store) {
	f := s.Feed()
	for i := range 3 {
		g := f.Generation()
		writeN(t, s, fmt.Sprintf("g%d", i), 1)
		if g2 := f.Generation(); g2 <= g {
			t.Fatalf("commit %d: Generation() = %d after the commit returned, %d before", i, g2, g)
		}
	}
}

func testListPaging(t *testing.T, s Store) {
	writeN(t, s, "a", 3)
	writeN(t, s, "b", 1)
	writeN(t, s, "c", 3)
	all := listAll(t, s.Feed())
	if len(all) != 7 {
		t.Fatalf("List() = %d entries, want 7", len(all))
	}
	pos := func(i int) int64 { return all[i].Position }
	tests := []struct {
		name  string
		after int64
		limit int
		want  []string
	}{
		{"from the start, a short page", 0, 2, []string{"a-0", "a-1"}},
		{"a page may cross transactions", pos(1), 3, []string{"a-2", "b-0", "c-0"}},
		{"a limit beyond the end returns the rest", pos(4), 100, []string{"c-1", "c-2"}},
		{"after the head there is nothing", pos(6), 10, nil},
		{"far beyond the head there is nothing", pos(6) + 1000, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Feed().List(ctxFor(t), tt.after, tt.limit)
			if err != nil {
				t.Fatalf("List(%d, %d) = %v", tt.after, tt.limit, err)
			}
			if !slices.Equal(keys(got), tt.want) {
				t.Fatalf("List(%d, %d) = %v, want %v", tt.after, tt.limit, keys(got), tt.want)
			}
		})
	}
	// Paging with the last position as cursor visits every entry once.
	var cursor int64
	var seen []string
	for range 10 {
		page, err := s.Feed().List(ctxFor(t), cursor, 3)
		if err != nil {
			t.Fatalf("List(%d, 3) = %v", cursor, err)
		}
		if len(page) == 0 {
			break
		}
		seen = append(seen, keys(page)...)
		cursor = page[len(page)-1].Position
	}
	if !slices.Equal(seen, keys(all)) {
		t.Fatalf("paging saw %v, want %v", seen, keys(all))
	}
	if h := head(t, s.Feed()); h != pos(6) {
		t.Fatalf("Head() = %d, want %d", h, pos(6))
	}
}

// watcher runs Feed.Watch in the background and collects what it delivers.
type watcher struct {
	mu     sync.Mutex
	got    []changelog.Entry
	more   chan struct{}
	done   chan error
	cancel context.CancelFunc
}

func startWatch(t *testing.T, f changelog.Feed, after int64) *watcher {
	ctx, cancel := context.WithCancel(ctxFor(t))
	w := &watcher{more: make(chan struct{}, 1), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- f.Watch(ctx, after, func(e changelog.Entry) error {
			w.mu.Lock()
			w.got = append(w.got, e)
			w.mu.Unlock()
			select {
			case w.more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(cancel)
	return w
}

// waitFor waits until the watcher has delivered n entries and returns their keys.
func (w *watcher) waitFor(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.After(within)
	for {
		w.mu.Lock()
		got := slices.Clone(w.got)
		w.mu.Unlock()
		if len(got) >= n {
			return keys(got)
		}
		select {
		case <-w.more:
		case err := <-w.done:
			t.Fatalf("Watch() returned %v after %d entries, want %d", err, len(got), n)
		case <-deadline:
			t.Fatalf("Watch() delivered %d entries within %v, want %d", len(got), within, n)
		}
	}
}

func testWatchBacklogThenLive(t *testing.T, s Store) {
	writeN(t, s, "old", 3)
	w := startWatch(t, s.Feed(), 0)
	if got := w.waitFor(t, 3, 10*time.Second); !slices.Equal(got, []string{"old-0", "old-1", "old-2"}) {
		t.Fatalf("backlog = %v", got)
	}
	// Live entries must arrive through the wake-up signal, well before any poll fallback.
	start := time.Now()
	writeN(t, s, "new", 2)
	got := w.waitFor(t, 5, 10*time.Second)
	if lag := time.Since(start); lag > time.Second {
		t.Errorf("a live entry took %v to arrive, want the wake-up signal to beat the poll", lag)
	}
	if want := []string{"old-0", "old-1", "old-2", "new-0", "new-1"}; !slices.Equal(got, want) {
		t.Fatalf("Watch() delivered %v, want %v", got, want)
	}
	w.cancel()
	if err := <-w.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch() = %v after cancel, want context.Canceled", err)
	}
}

func testWatchFromCursor(t *testing.T, s Store) {
	writeN(t, s, "a", 4)
	all := listAll(t, s.Feed())
	w := startWatch(t, s.Feed(), all[1].Position)
	if got := w.waitFor(t, 2, 10*time.Second); !slices.Equal(got, []string{"a-2", "a-3"}) {
		t.Fatalf("Watch(after=%d) delivered %v, want [a-2 a-3]", all[1].Position, got)
	}
}

func testWatchFnError(t *testing.T, s Store) {
	writeN(t, s, "a", 3)
	errStop := errors.New("consumer gave up")
	var calls int
	err := s.Feed().Watch(ctxFor(t), 0, func(changelog.Entry) error {
		calls++
		if calls == 2 {
			return errStop
		}
		return nil
	})
	if err != errStop || calls != 2 {
		t.Fatalf("Watch() = %v after %d calls, want errStop (unwrapped) after 2", err, calls)
	}
}

func testWatchCancel(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	done := make(chan error, 1)
	go func() { done <- s.Feed().Watch(ctx, 0, func(changelog.Entry) error { return nil }) }()
	time.Sleep(50 * time.Millisecond) // let it go idle
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch() = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Watch() did not return within 1s of cancellation")
	}
}

func keys(es []changelog.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

// Concurrency sizes RunConcurrentWriters.
type Concurrency struct {
	Writers      int // concurrent writer goroutines
	Transactions int // transactions per writer
}

// RunConcurrentWriters checks the ordering guarantee under load: many writers commit
// transactions of one to three entries (some pausing between append and commit, some
// rolling back, some appending nothing) while one reader Watches and another pages with
// List from its last cursor. Each reader must end up with exactly the committed entries,
// each once, in strictly increasing Position. A store that let a transaction take a lower
// Position but commit after a higher one would make a reader step over it and fail here;
// a store's own test can widen that window with a hook that pauses between taking
// Positions and COMMIT.
func RunConcurrentWriters(t *testing.T, s Store, c Concurrency) {
	ctx := ctxFor(t)
	feed := s.Feed()
	start := head(t, feed)

	watched := &reader{name: "watcher"}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- feed.Watch(watchCtx, start, watched.add) }()

	polled := &reader{name: "poller"}
	writersDone := make(chan struct{})
	finalHead := make(chan int64, 1)
	pollDone := make(chan error, 1)
	go func() { pollDone <- poll(ctx, feed, start, polled, writersDone, finalHead) }()

	var (
		mu        sync.Mutex
		committed = map[string]bool{}
		wg        sync.WaitGroup
	)
	for w := range c.Writers {
		wg.Go(func() {
			for tx := range c.Transactions {
				n := rand.IntN(4) // 0..3 entries
				rollback := rand.IntN(8) == 0
				pause := rand.IntN(3) == 0
				var appended []string
				err := s.Write(ctx, func(log changelog.Appender) error {
					for i := range n {
						key := fmt.Sprintf("w%02d-t%03d-e%d", w, tx, i)
						log.Append(entry("race", key, changelog.OpUpsert, []byte(key)))
						appended = append(appended, key)
					}
					if pause {
						time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					}
					if rollback {
						return ErrRollback
					}
					return nil
				})
				switch {
				case err == nil:
					mu.Lock()
					for _, k := range appended {
						committed[k] = true
					}
					mu.Unlock()
				case errors.Is(err, ErrRollback):
				default:
					t.Errorf("writer %d transaction %d: Write() = %v", w, tx, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(writersDone)
	h := head(t, feed)
	finalHead <- h

	if err := <-pollDone; err != nil {
		t.Fatalf("poller: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for watched.last() < h && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopWatch()
	if err := <-watchDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("watcher: Watch() = %v, want context.Canceled", err)
	}
	if len(committed) == 0 {
		t.Fatal("no transaction committed")
	}
	for _, r := range []*reader{watched, polled} {
		r.check(t, committed)
	}
	t.Logf("%d writers × %d transactions: %d entries committed, head %d → %d", c.Writers, c.Transactions, len(committed), start, h)
}

// poll pages through the log with List from its last cursor, with random page sizes and
// pauses, until the writers are done and it has reached the final head.
func poll(ctx context.Context, feed changelog.Feed, cursor int64, r *reader, writersDone <-chan struct{}, finalHead <-chan int64) error {
	target := int64(-1)
	for {
		page, err := feed.List(ctx, cursor, 1+rand.IntN(64))
		if err != nil {
			return fmt.Errorf("List(%d) = %w", cursor, err)
		}
		for _, e := range page {
			if err := r.add(e); err != nil {
				return err
			}
			cursor = e.Position
		}
		if target < 0 {
			select {
			case <-writersDone:
				target = <-finalHead
			default:
			}
		}
		if target >= 0 && cursor >= target {
			return nil
		}
		if len(page) == 0 {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
	}
}

// reader collects what one reader saw.
type reader struct {
	name string
	mu   sync.Mutex
	seen []changelog.Entry
}

func (r *reader) add(e changelog.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, e)
	return nil
}

func (r *reader) last() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return 0
	}
	return r.seen[len(r.seen)-1].Position
}

func (r *reader) check(t *testing.T, committed map[string]bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]int64{}
	var last int64
	for _, e := range r.seen {
		if e.Position <= last {
			t.Errorf("%s: position %d (%s) after %d: not strictly increasing", r.name, e.Position, e.Key, last)
		}
		last = e.Position
		if p, dup := seen[e.Key]; dup {
			t.Errorf("%s: %s seen twice, at %d and %d", r.name, e.Key, p, e.Position)
		}
		seen[e.Key] = e.Position
		if !committed[e.Key] {
			t.Errorf("%s: %s was delivered but its transaction did not commit", r.name, e.Key)
		}
		if string(e.Payload) != e.Key {
			t.Errorf("%s: %s carries payload %q", r.name, e.Key, e.Payload)
		}
	}
	var missed []string
	for k := range committed {
		if _, ok := seen[k]; !ok {
			missed = append(missed, k)
		}
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		t.Errorf("%s missed %d of %d committed entries, e.g. %v", r.name, len(missed), len(committed), missed[:min(5, len(missed))])
	}
	// Entries of one transaction keep their append order.
	for i := 1; i < len(r.seen); i++ {
		a, b := r.seen[i-1].Key, r.seen[i].Key
		if a[:len(a)-1] == b[:len(b)-1] && a > b {
			t.Errorf("%s: %s delivered before %s of the same transaction", r.name, a, b)
		}
	}
}
