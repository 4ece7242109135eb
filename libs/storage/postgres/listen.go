package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ponte-network/ponte/libs/changelog"
)

// Reconnect back-off of the LISTEN connection.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// listener is the one LISTEN connection of a DB: it turns NOTIFYs on the log's channel into
// wake-ups for every watcher. It starts with the first watcher and reconnects when the
// connection drops, waking everyone after each (re)connect because NOTIFYs sent while it
// was away are lost. Watchers also poll, so a listener that cannot connect only slows them.
type listener struct {
	connConfig *pgx.ConnConfig
	channel    string
	signal     *changelog.Broadcaster

	running atomic.Bool // started and not closed: start's fast path, once per search
	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func newListener(cc *pgx.ConnConfig, channel string, signal *changelog.Broadcaster) *listener {
	return &listener{connConfig: cc, channel: channel, signal: signal}
}

// start runs the listener unless it runs already or the DB is closed.
func (l *listener) start() {
	if l.running.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	l.running.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go l.run(ctx)
}

// close stops the listener and waits for its connection to close.
func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	l.running.Store(false)
	started := l.started
	l.mu.Unlock()
	if started {
		l.cancel()
		<-l.done
	}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := listenMinBackoff
	for {
		if l.listen(ctx) {
			backoff = listenMinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen connects, LISTENs and relays notifications until the connection fails or ctx is
// done; it reports whether it got as far as listening.
func (l *listener) listen(ctx context.Context) (listened bool) {
	conn, err := pgx.ConnectConfig(ctx, l.connConfig)
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false
	}
	l.signal.Notify() // entries may have committed while nobody listened
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		l.signal.Notify()
	}
}
