package districts

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// The directory's change-log topics and ops the copy follows.
const (
	topicDistrict     = "district"
	topicOrganization = "organization"
	opDelete          = "delete"
)

// DefaultMaxStale is how long after losing the directory the copy is still trusted.
const DefaultMaxStale = 2 * time.Minute

// pageSize is how many changes one ListChanges call asks for while catching up.
const pageSize = 1000

// Options tune a Copy.
type Options struct {
	MaxStale time.Duration    // 0 = DefaultMaxStale
	Logger   *slog.Logger     // nil = nowhere
	Now      func() time.Time // nil = time.Now
	// MinBackoff and MaxBackoff bound the wait between reconnections; 0 = 200 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
}

// Copy is the local copy of the directory's districts and organizations; safe for
// concurrent use. Run keeps it current.
type Copy struct {
	client directoryv1.DirectoryServiceClient
	opts   Options

	mu        sync.Mutex
	snap      *Snapshot
	connected bool      // caught up and watching
	lostAt    time.Time // when the stream last broke (zero: never connected)
	caughtUp  chan struct{}
	once      sync.Once
}

var _ Source = (*Copy)(nil)

// NewCopy returns an empty copy following client's change feed once Run is called.
func NewCopy(client directoryv1.DirectoryServiceClient, opts Options) *Copy {
	if opts.MaxStale <= 0 {
		opts.MaxStale = DefaultMaxStale
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	return &Copy{client: client, opts: opts, snap: NewSnapshot(nil, nil, 0), caughtUp: make(chan struct{})}
}

// FirstWait bounds how long Current waits for the first catch-up (a write arriving
// while the process starts).
const FirstWait = 5 * time.Second

// Current implements Source.
func (c *Copy) Current(ctx context.Context) (*Snapshot, error) {
	select {
	case <-c.caughtUp:
	default:
		wctx, cancel := context.WithTimeout(ctx, FirstWait)
		select {
		case <-c.caughtUp:
		case <-wctx.Done():
		}
		cancel()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.connected:
		return c.snap, nil
	case c.lostAt.IsZero():
		return nil, staleError(time.Time{})
	case c.opts.Now().Sub(c.lostAt) <= c.opts.MaxStale:
		return c.snap, nil
	}
	return nil, staleError(c.lostAt)
}

// Last implements Source.
func (c *Copy) Last() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lostAt.IsZero() && !c.connected {
		return nil
	}
	return c.snap
}

// CaughtUp is closed once the copy has caught up with the directory the first time.
func (c *Copy) CaughtUp() <-chan struct{} { return c.caughtUp }

// Run follows the directory until ctx is done, reconnecting with backoff; it returns nil then.
func (c *Copy) Run(ctx context.Context) error {
	backoff := c.opts.MinBackoff
	for {
		err := c.follow(ctx)
		c.mu.Lock()
		if c.connected {
			c.connected = false
			c.lostAt = c.opts.Now()
			backoff = c.opts.MinBackoff // it worked for a while: retry soon
		}
		c.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		c.opts.Logger.WarnContext(ctx, "districts: lost the directory's change feed, retrying",
			slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.opts.MaxBackoff)
	}
}

// follow catches up from the copy's position and then applies the watched changes
// until the stream fails.
func (c *Copy) follow(ctx context.Context) error {
	c.mu.Lock()
	snap := c.snap
	c.mu.Unlock()
	for {
		resp, err := c.client.ListChanges(ctx, &directoryv1.ListChangesRequest{After: snap.Position, PageSize: pageSize})
		if err != nil {
			return fmt.Errorf("list directory changes: %w", err)
		}
		for _, ch := range resp.GetChanges() {
			snap = apply(snap, ch)
		}
		snap.Position = max(snap.Position, resp.GetNextAfter())
		if len(resp.GetChanges()) < pageSize {
			break
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.WatchChanges(wctx, &directoryv1.WatchChangesRequest{After: snap.Position})
	if err != nil {
		return fmt.Errorf("watch directory changes: %w", err)
	}
	c.mu.Lock()
	c.snap, c.connected = snap, true
	c.mu.Unlock()
	c.once.Do(func() { close(c.caughtUp) })
	c.opts.Logger.InfoContext(ctx, "districts: following the directory", slog.Int("districts", snap.Len()), slog.Int64("position", snap.Position))
	for {
		ch, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("watch directory changes: %w", err)
		}
		c.mu.Lock()
		c.snap = apply(c.snap, ch)
		c.mu.Unlock()
	}
}

// apply returns s with change ch applied; changes of other topics only move the position.
func apply(s *Snapshot, ch *directoryv1.Change) *Snapshot {
	pos := max(s.Position, ch.GetPosition())
	switch ch.GetTopic() {
	case topicDistrict:
		return s.with(topicDistrict, ch.GetKey(), ch.GetOp(), municipalities(ch.GetPayload()), pos)
	case topicOrganization:
		return s.with(topicOrganization, ch.GetKey(), ch.GetOp(), nil, pos)
	}
	n := *s
	n.Position = pos
	return &n
}

// municipalities reads the "municipalities" list of a district's change payload.
func municipalities(p *structpb.Struct) []string {
	list := p.GetFields()["municipalities"].GetListValue().GetValues()
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s := v.GetStringValue(); s != "" {
			out = append(out, s)
		}
	}
	return out
}
