package changelog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Poller.
const (
	DefaultPollInterval = 2 * time.Second // how often a Poller re-reads the log without a signal
	DefaultBatchSize    = 500             // how many entries a Poller reads per List
)

// Poller implements Feed.Watch on top of a List function and a wake-up signal.
type Poller struct {
	// List reads the log (Feed.List).
	List func(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Subscribe, if set, returns a channel that receives a value when new entries may have
	// committed, and a function that ends the subscription (Broadcaster.Subscribe).
	Subscribe func() (wake <-chan struct{}, cancel func())
	// Interval is the poll fallback; <= 0 means DefaultPollInterval.
	Interval time.Duration
	// BatchSize bounds each List; <= 0 means DefaultBatchSize.
	BatchSize int
}

// Watch calls fn for every entry with Position > after, in order, until ctx is done
// (returns ctx.Err()), fn fails (returns its error as is) or List fails (returns it wrapped).
func (p Poller) Watch(ctx context.Context, after int64, fn func(Entry) error) error {
	if p.List == nil {
		return errors.New("watch changelog: no List function")
	}
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	batch := p.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	// Subscribe before the first read: a commit that lands between that read and the
	// wait below still leaves its signal in the channel.
	var wake <-chan struct{}
	if p.Subscribe != nil {
		w, cancel := p.Subscribe()
		defer cancel()
		wake = w
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := p.List(ctx, after, batch)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("watch changelog after %d: %w", after, err)
		}
		for _, e := range entries {
			if e.Position <= after {
				return fmt.Errorf("watch changelog: position %d listed after %d", e.Position, after)
			}
			if err := fn(e); err != nil {
				return err
			}
			after = e.Position
		}
		if len(entries) == batch {
			continue // more backlog: read on without waiting
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-ticker.C:
		}
	}
}

// Broadcaster fans a "something new may have committed" signal out to any number of
// subscribers. Signals coalesce: a subscriber that has not yet consumed one does not
// queue another. It also counts its signals (Generation), so that a reader can tell
// without a query whether anything may have committed since it last read the log. The
// zero value is ready to use.
type Broadcaster struct {
	gen  atomic.Uint64
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a value after each Notify (coalesced) and a
// function that ends the subscription; call it when done.
func (b *Broadcaster) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[chan struct{}]struct{})
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
		})
	}
}

// Notify counts a signal and wakes every subscriber without blocking.
func (b *Broadcaster) Notify() {
	b.gen.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// Subscribers returns how many subscriptions are open.
func (b *Broadcaster) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Generation returns how many signals Notify has counted. Notify counts before it wakes
// anyone, and a store notifies after its commit is visible: a reader that reads
// Generation, then lists the log to its end, has seen every entry whose signal that
// Generation counted.
func (b *Broadcaster) Generation() uint64 { return b.gen.Load() }
