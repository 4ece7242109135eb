package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/services/reporting/store"
)

// SourceCases is the name of the case feed's cursor.
const SourceCases = "cases"

// PageSize is how many entries one read of a feed asks for.
const PageSize = 1000

// CaseFeed is the part of the cases API reporting reads.
type CaseFeed interface {
	ListReportingCases(ctx context.Context, req *casesv1.ListReportingCasesRequest, opts ...grpc.CallOption) (*casesv1.ListReportingCasesResponse, error)
}

// Follower keeps reporting's facts in step with the case feed.
type Follower struct {
	Feed     CaseFeed
	Store    store.Store
	Keys     Keys
	Interval time.Duration // between reads once caught up; 0: one second
	Logger   *slog.Logger

	syncing sync.Mutex // one Sync or Rebuild at a time: a rebuild must not race a read
	mu      sync.Mutex
	lag     int64 // entries behind the feed's head at the last read
	seen    bool
}

// Rebuild runs reset (which empties the store) and syncs from zero, with no other read
// of the feed in between.
func (f *Follower) Rebuild(ctx context.Context, reset func(context.Context) error) error {
	f.syncing.Lock()
	defer f.syncing.Unlock()
	if err := reset(ctx); err != nil {
		return err
	}
	_, err := f.sync(ctx)
	return err
}

// Lag returns how many entries the last read left unread, and whether there was one.
func (f *Follower) Lag() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lag, f.seen
}

// Sync reads the feed from the stored cursor to its head and applies what it reads,
// one page per transaction; it returns how many entries it read.
func (f *Follower) Sync(ctx context.Context) (int, error) {
	f.syncing.Lock()
	defer f.syncing.Unlock()
	return f.sync(ctx)
}

func (f *Follower) sync(ctx context.Context) (int, error) {
	read := 0
	for {
		after, err := f.cursor(ctx)
		if err != nil {
			return read, err
		}
		resp, err := f.Feed.ListReportingCases(ctx, &casesv1.ListReportingCasesRequest{After: after, PageSize: PageSize})
		if err != nil {
			return read, fmt.Errorf("read the case feed after %d: %w", after, err)
		}
		f.mu.Lock()
		f.lag, f.seen = max(0, resp.GetHead()-resp.GetNextAfter()), true
		f.mu.Unlock()
		if resp.GetNextAfter() <= after {
			return read, nil
		}
		batch := store.Batch{Source: SourceCases, Position: resp.GetNextAfter(), Head: resp.GetHead()}
		pending := map[string]store.Change{}
		prior := func(id string) (store.Fact, bool, error) {
			if ch, ok := pending[id]; ok {
				if ch.Fact == nil {
					return store.Fact{}, false, nil
				}
				return *ch.Fact, true, nil
			}
			fact, err := f.Store.Fact(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return store.Fact{}, false, nil
			case err != nil:
				return store.Fact{}, false, err
			}
			return fact, true, nil
		}
		for _, rc := range resp.GetCases() {
			changes, err := CaseFacts(f.Keys, rc, prior)
			if err != nil {
				return read, fmt.Errorf("case entry %d: %w", rc.GetPosition(), err)
			}
			for _, ch := range changes {
				pending[ch.ID] = ch
				batch.Changes = append(batch.Changes, ch)
			}
			batch.EntryTime = rc.GetTime().AsTime()
		}
		if err := f.Store.Apply(ctx, batch); err != nil {
			return read, err
		}
		read += len(resp.GetCases())
		if resp.GetNextAfter() >= resp.GetHead() {
			return read, nil
		}
	}
}

func (f *Follower) cursor(ctx context.Context) (int64, error) {
	cursors, err := f.Store.Cursors(ctx)
	if err != nil {
		return 0, err
	}
	for _, c := range cursors {
		if c.Source == SourceCases {
			return c.Position, nil
		}
	}
	return 0, nil
}

// Run syncs until ctx ends, waiting Interval between reads once caught up, and longer
// (up to a minute) while reads fail.
func (f *Follower) Run(ctx context.Context) {
	interval := f.Interval
	if interval <= 0 {
		interval = time.Second
	}
	logger := f.Logger
	if logger == nil {
		logger = slog.Default()
	}
	wait := interval
	for {
		if _, err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "reporting: reading the case feed failed", "error", err.Error())
			wait = min(2*wait, time.Minute)
		} else {
			wait = interval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
