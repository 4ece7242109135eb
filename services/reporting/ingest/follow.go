package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ponte-network/ponte/services/reporting/store"
)

// PageSize is how many entries one read of a feed asks for.
const PageSize = 1000

// Source is one feed reporting follows, read after a cursor, one page at a time. Each
// source has its own durable cursor in the store, under its Name.
type Source interface {
	// Name names the source's cursor ("cases"); it never changes once facts are stored.
	Name() string
	// Read reads one page of the feed after the cursor after, adds the facts it
	// derives to page (whose Prior gives the stored facts, and those added earlier in
	// the page) and returns where the page ends and the feed's head.
	Read(ctx context.Context, after int64, page *Page) (Read, error)
}

// Read is where one page of a feed ended.
type Read struct {
	Next      int64     // the cursor after the page; not after the cursor read from: nothing new
	Head      int64     // the feed's last position when read
	EntryTime time.Time // when the page's last entry was written (zero: unknown)
	Entries   int       // how many entries the page held
}

// feedEntry is what the follower needs of any feed's entry: where it is and when it was
// written.
type feedEntry interface {
	GetPosition() int64
	GetTime() *timestamppb.Timestamp
}

// readEntries is a source's Read once it has fetched a page: each entry's changes (from
// facts) go into page, and the Read reports the page's cursor, head and last entry time.
// feed names the feed in errors ("housing entry 12: …").
func readEntries[E feedEntry](feed string, next, head int64, entries []E, page *Page, facts func(E) ([]store.Change, error)) (Read, error) {
	r := Read{Next: next, Head: head, Entries: len(entries)}
	for _, e := range entries {
		r.EntryTime = e.GetTime().AsTime()
		changes, err := facts(e)
		if err != nil {
			return Read{}, fmt.Errorf("%s entry %d: %w", feed, e.GetPosition(), err)
		}
		page.Add(changes...)
	}
	return r, nil
}

// Page collects the facts a source derives from one page of its feed.
type Page struct {
	ctx     context.Context
	store   store.Store
	pending map[string]store.Change
	changes []store.Change
}

// Prior returns the fact with an id as it stands before the change being derived: the
// last one added to the page, else the stored one.
func (p *Page) Prior(id string) (store.Fact, bool, error) {
	if ch, ok := p.pending[id]; ok {
		if ch.Fact == nil {
			return store.Fact{}, false, nil
		}
		return *ch.Fact, true, nil
	}
	fact, err := p.store.Fact(p.ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Fact{}, false, nil
	case err != nil:
		return store.Fact{}, false, err
	}
	return fact, true, nil
}

// Add adds changes to the page, in order: the last change of an id wins.
func (p *Page) Add(changes ...store.Change) {
	for _, ch := range changes {
		p.pending[ch.ID] = ch
		p.changes = append(p.changes, ch)
	}
}

// Lag is how far behind its feed a source was at its last read.
type Lag struct {
	Entries  int64     // entries between the cursor and the feed's head
	ReadTime time.Time // when the feed was last read
}

// Follower keeps reporting's facts in step with its sources' feeds.
type Follower struct {
	Sources  []Source
	Store    store.Store
	Interval time.Duration // between reads once caught up; 0: one second
	Logger   *slog.Logger

	syncing sync.Mutex // one Sync or Rebuild at a time: a rebuild must not race a read
	mu      sync.Mutex
	lags    map[string]Lag
}

// Rebuild runs reset (which empties the store) and syncs every source from zero, with
// no other read of the feeds in between.
func (f *Follower) Rebuild(ctx context.Context, reset func(context.Context) error) error {
	f.syncing.Lock()
	defer f.syncing.Unlock()
	if err := reset(ctx); err != nil {
		return err
	}
	_, err := f.sync(ctx)
	return err
}

// Lags returns each source's lag at its last read, by source name; a source not read
// yet is absent.
func (f *Follower) Lags() map[string]Lag {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.lags)
}

// Sync reads every source from its stored cursor to its head and applies what it reads,
// one page per transaction; it returns how many entries it read. A source that fails
// does not keep the others from being read: the error names it.
func (f *Follower) Sync(ctx context.Context) (int, error) {
	f.syncing.Lock()
	defer f.syncing.Unlock()
	return f.sync(ctx)
}

func (f *Follower) sync(ctx context.Context) (int, error) {
	_, read, err := f.syncSome(ctx, func(Source) bool { return true })
	return read, err
}

// syncSome syncs the sources due says to, and returns those that failed.
func (f *Follower) syncSome(ctx context.Context, due func(Source) bool) (map[string]bool, int, error) {
	failed := map[string]bool{}
	cursors, err := f.Store.Cursors(ctx)
	if err != nil {
		for _, src := range f.Sources {
			failed[src.Name()] = due(src)
		}
		return failed, 0, err
	}
	read := 0
	var errs []error
	for _, src := range f.Sources {
		if !due(src) {
			continue
		}
		after := int64(0)
		if i := slices.IndexFunc(cursors, func(c store.Cursor) bool { return c.Source == src.Name() }); i >= 0 {
			after = cursors[i].Position
		}
		n, err := f.follow(ctx, src, after)
		read += n
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name(), err))
			failed[src.Name()] = true
		}
	}
	return failed, read, errors.Join(errs...)
}

// follow reads one source from after to its head.
func (f *Follower) follow(ctx context.Context, src Source, after int64) (int, error) {
	read := 0
	for {
		page := &Page{ctx: ctx, store: f.Store, pending: map[string]store.Change{}}
		r, err := src.Read(ctx, after, page)
		if err != nil {
			return read, fmt.Errorf("read after %d: %w", after, err)
		}
		f.mu.Lock()
		if f.lags == nil {
			f.lags = map[string]Lag{}
		}
		f.lags[src.Name()] = Lag{Entries: max(0, r.Head-max(r.Next, after)), ReadTime: time.Now()}
		f.mu.Unlock()
		if r.Next <= after {
			return read, nil
		}
		batch := store.Batch{Source: src.Name(), Position: r.Next, Head: r.Head, EntryTime: r.EntryTime, Changes: page.changes}
		if err := f.Store.Apply(ctx, batch); err != nil {
			return read, err
		}
		read += r.Entries
		after = r.Next
		if r.Next >= r.Head {
			return read, nil
		}
	}
}

// Run syncs until ctx ends, waiting Interval between reads once caught up; a source
// whose reads fail waits longer (doubling, up to a minute) while the others go on.
func (f *Follower) Run(ctx context.Context) {
	interval := f.Interval
	if interval <= 0 {
		interval = time.Second
	}
	logger := f.Logger
	if logger == nil {
		logger = slog.Default()
	}
	wait := map[string]time.Duration{} // a failing source's backoff
	next := map[string]time.Time{}     // when it is read again
	for {
		now := time.Now()
		failed, err := func() (map[string]bool, error) {
			f.syncing.Lock()
			defer f.syncing.Unlock()
			failed, _, err := f.syncSome(ctx, func(s Source) bool { return !now.Before(next[s.Name()]) })
			return failed, err
		}()
		if err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "reporting: reading a feed failed", "error", err.Error())
		}
		for _, src := range f.Sources {
			name := src.Name()
			switch {
			case failed[name]:
				wait[name] = min(2*max(wait[name], interval/2), time.Minute)
				next[name] = now.Add(wait[name])
			case !now.Before(next[name]):
				delete(wait, name)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
