package changelog_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
)

// memLog is an in-memory log, enough to drive a Poller.
type memLog struct {
	mu      sync.Mutex
	entries []changelog.Entry
	signal  changelog.Broadcaster
	lists   int
	failing error
}

func (m *memLog) add(n int, notify bool) {
	m.mu.Lock()
	for range n {
		m.entries = append(m.entries, changelog.Entry{Position: int64(len(m.entries) + 1), Topic: "t", Key: "k", Op: changelog.OpUpsert})
	}
	m.mu.Unlock()
	if notify {
		m.signal.Notify()
	}
}

func (m *memLog) list(_ context.Context, after int64, limit int) ([]changelog.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	if m.failing != nil {
		return nil, m.failing
	}
	var out []changelog.Entry
	for _, e := range m.entries {
		if e.Position > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestEntryValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry changelog.Entry
		ok    bool
	}{
		{"an upsert with topic and key is valid", changelog.Entry{Topic: "case", Key: "1", Op: changelog.OpUpsert}, true},
		{"a delete without payload is valid", changelog.Entry{Topic: "case", Key: "1", Op: changelog.OpDelete}, true},
		{"an entry without topic is refused", changelog.Entry{Key: "1", Op: changelog.OpUpsert}, false},
		{"an entry without key is refused", changelog.Entry{Topic: "case", Op: changelog.OpUpsert}, false},
		{"an unknown op is refused", changelog.Entry{Topic: "case", Key: "1", Op: "insert"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.entry.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBufferStampsAndCopies(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	b := &changelog.Buffer{Now: func() time.Time { return at }}
	payload := []byte("v1")
	b.Append(changelog.Entry{Position: 42, Topic: "case", Key: "1", Op: changelog.OpUpsert, Payload: payload})
	b.Append(changelog.Entry{Topic: "case", Key: "2", Op: changelog.OpDelete})
	payload[0] = 'X' // the caller reuses its slice

	got := b.Entries()
	if len(got) != 2 {
		t.Fatalf("Entries() has %d entries, want 2", len(got))
	}
	if got[0].Position != 0 {
		t.Errorf("Position = %d, want 0 before commit", got[0].Position)
	}
	if want := at.UTC().Truncate(time.Microsecond); !got[0].Time.Equal(want) || got[0].Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", got[0].Time, want)
	}
	if string(got[0].Payload) != "v1" {
		t.Errorf("Payload = %q, want the bytes as appended", got[0].Payload)
	}
	if got[1].Payload != nil {
		t.Errorf("nil Payload became %v", got[1].Payload)
	}
	if err := b.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	b.Append(changelog.Entry{Topic: "case", Op: changelog.OpUpsert})
	if err := b.Validate(); err == nil {
		t.Error("Validate() accepted an entry without key")
	}
}

func TestBroadcasterCoalescesAndUnsubscribes(t *testing.T) {
	t.Parallel()
	var b changelog.Broadcaster
	a, cancelA := b.Subscribe()
	c, cancelC := b.Subscribe()
	b.Notify()
	b.Notify() // coalesces with the first
	for name, ch := range map[string]<-chan struct{}{"a": a, "c": c} {
		select {
		case <-ch:
		default:
			t.Fatalf("subscriber %s was not woken", name)
		}
		select {
		case <-ch:
			t.Fatalf("subscriber %s got two wake-ups for coalesced notifies", name)
		default:
		}
	}
	cancelA()
	cancelA() // idempotent
	if n := b.Subscribers(); n != 1 {
		t.Fatalf("Subscribers() = %d after one cancel, want 1", n)
	}
	cancelC()
	b.Notify() // no subscribers: must not block
}

func TestPollerWatch(t *testing.T) {
	t.Parallel()
	errStop := errors.New("stop")
	errDown := errors.New("database down")
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"backlog arrives in batches then live entries follow a signal", func(t *testing.T) {
			m := &memLog{}
			m.add(5, false)
			p := changelog.Poller{List: m.list, Subscribe: m.signal.Subscribe, Interval: time.Hour, BatchSize: 2}
			got := make(chan int64, 100)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- p.Watch(ctx, 1, func(e changelog.Entry) error { got <- e.Position; return nil })
			}()
			expect(t, got, 2, 3, 4, 5)
			m.add(2, true)
			expect(t, got, 6, 7)
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Watch() = %v, want context.Canceled", err)
			}
		}},
		{"without a signal the poll interval still delivers", func(t *testing.T) {
			m := &memLog{}
			p := changelog.Poller{List: m.list, Interval: 10 * time.Millisecond}
			got := make(chan int64, 100)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = p.Watch(ctx, 0, func(e changelog.Entry) error { got <- e.Position; return nil }) }()
			m.add(1, false)
			expect(t, got, 1)
		}},
		{"fn's error is returned as is", func(t *testing.T) {
			m := &memLog{}
			m.add(3, false)
			p := changelog.Poller{List: m.list}
			err := p.Watch(context.Background(), 0, func(e changelog.Entry) error {
				if e.Position == 2 {
					return errStop
				}
				return nil
			})
			if err != errStop {
				t.Fatalf("Watch() = %v, want errStop unwrapped", err)
			}
		}},
		{"a List failure is returned wrapped", func(t *testing.T) {
			m := &memLog{failing: errDown}
			err := changelog.Poller{List: m.list}.Watch(context.Background(), 0, func(changelog.Entry) error { return nil })
			if !errors.Is(err, errDown) || err == errDown {
				t.Fatalf("Watch() = %v, want errDown wrapped", err)
			}
		}},
		{"an already cancelled context returns at once", func(t *testing.T) {
			m := &memLog{}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := changelog.Poller{List: m.list}.Watch(ctx, 0, func(changelog.Entry) error { return nil })
			if !errors.Is(err, context.Canceled) || m.lists != 0 {
				t.Fatalf("Watch() = %v after %d lists, want context.Canceled and no read", err, m.lists)
			}
		}},
		{"cancelling the watch ends its subscription", func(t *testing.T) {
			m := &memLog{}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			err := changelog.Poller{List: m.list, Subscribe: m.signal.Subscribe}.Watch(ctx, 0, func(changelog.Entry) error { return nil })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Watch() = %v, want context.DeadlineExceeded", err)
			}
			if n := m.signal.Subscribers(); n != 0 {
				t.Fatalf("%d subscriptions left open", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

func expect(t *testing.T, got <-chan int64, want ...int64) {
	t.Helper()
	for _, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Fatalf("got position %d, want %d", g, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for position %d", w)
		}
	}
}
