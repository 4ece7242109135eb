// Package changelog is Ponte's transactional outbox and change feed: the record of every
// change other parties may need, written in the same transaction as the change itself.
//
// A store hands each write transaction an Appender; the entries appended commit or roll
// back with the rows they describe. Readers consume the log through a Feed: List pages
// through it by Position and Watch follows it like a Kubernetes list-watch, so a reader
// that remembers the last Position it processed resumes exactly there after a restart,
// losing nothing and seeing nothing twice.
//
// # Ordering guarantee
//
// Positions are strictly increasing in commit order: once any reader can see Position p,
// no entry with a Position below p will ever commit. Without this a reader that moved its
// cursor to p would silently skip an entry that took p-1 but committed after p — the
// classic outbox bug, because sequences are allocated when a row is inserted, not when it
// commits. The stores make "take Positions" and "commit" one critical section:
//
//   - PostgreSQL (libs/storage/postgres) buffers a transaction's entries and inserts them
//     only at its very end, right before COMMIT, after taking pg_advisory_xact_lock with a
//     key that is constant for the log (one per schema). Positions come from an identity
//     column, so they are taken while the lock is held. PostgreSQL releases transaction
//     locks only after the commit is visible to every other session, so the next writer
//     takes its Positions after — and therefore above — every Position already visible.
//     The lock covers one INSERT, one pg_notify and the COMMIT; transactions that append
//     nothing never take it.
//   - SQLite (libs/storage/sqlite) serializes all writes: one writer connection, and BEGIN
//     IMMEDIATE takes the database write lock at BEGIN, even across processes. Positions
//     come from an AUTOINCREMENT key inside that lock, so their order is commit order.
//
// Positions may have gaps (a transaction that failed after taking its Positions) but are
// never reordered or reused; the entries of one transaction follow their Append order.
//
// # Watching
//
// Poller implements Feed.Watch for both stores: it subscribes to a wake-up signal, reads
// the backlog with List, then waits for the signal or a periodic poll, whichever comes
// first, and reads again from its cursor. The signal (a Broadcaster fed by local commits
// and, on PostgreSQL, by LISTEN/NOTIFY) only says "something may have committed":
// correctness rests on re-reading from the cursor, so a lost signal delays delivery by
// at most one poll interval and never loses an entry.
package changelog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Op is what happened to a record.
type Op string

// The operations an Entry records.
const (
	OpUpsert Op = "upsert" // the record was created or changed; Payload usually holds its new state
	OpDelete Op = "delete" // the record was deleted
)

// Entry is one change, recorded in the writer's transaction.
type Entry struct {
	Position int64     // assigned when committed; strictly increasing in commit order; 0 before
	Topic    string    // record type, e.g. "territory", "case"
	Key      string    // record id
	Op       Op        // what happened to the record
	Payload  []byte    // service-defined bytes (usually a marshalled proto); may be nil
	Time     time.Time // assigned at append (UTC, microsecond precision so it survives both stores)
}

// Validate reports whether the entry can be recorded: a topic, a key and a known Op.
func (e Entry) Validate() error {
	switch {
	case e.Topic == "":
		return errors.New("changelog entry: empty topic")
	case e.Key == "":
		return errors.New("changelog entry: empty key")
	case e.Op != OpUpsert && e.Op != OpDelete:
		return fmt.Errorf("changelog entry: unknown op %q", e.Op)
	}
	return nil
}

// Appender records entries inside a write transaction.
type Appender interface {
	// Append records e; it commits or rolls back with the transaction.
	Append(e Entry)
}

// Feed reads a change log.
type Feed interface {
	// List returns up to limit entries with Position > after, in Position order.
	List(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Watch calls fn for every entry with Position > after, in order, first the backlog then
	// new entries as they commit, until ctx is done (returns ctx.Err()), fn returns an error
	// (returned as is) or reading the log fails (returned wrapped).
	Watch(ctx context.Context, after int64, fn func(Entry) error) error
	// Head returns the Position of the last committed entry (0 if none).
	Head(ctx context.Context) (int64, error)
	// Generation counts the signals that new entries may have committed: this process's
	// own commits, at once, and on PostgreSQL other processes' commits, by LISTEN/NOTIFY
	// (the first call starts listening; each (re)connection counts one). It never
	// decreases. A reader that keeps a copy of the log (a read model) can skip reading the
	// log while Generation has not moved since it last read it to its end: it then misses
	// no commit of its own process and lags other processes by the NOTIFY delivery.
	// Signals carry no positions and may be lost (a dropped LISTEN connection), so such a
	// reader still reads the log now and then to bound its lag.
	Generation() uint64
}

// Buffer is the Appender a store hands to a write transaction: it keeps the entries in
// memory until the store writes them at commit. It is safe for concurrent use.
type Buffer struct {
	// Now stamps appended entries; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries []Entry
}

// Append stamps e with the current time, clears its Position, copies its Payload and keeps it.
func (b *Buffer) Append(e Entry) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	e.Position = 0
	e.Time = now().UTC().Truncate(time.Microsecond)
	e.Payload = bytes.Clone(e.Payload) // the caller may reuse its slice after Append
	b.mu.Lock()
	b.entries = append(b.entries, e)
	b.mu.Unlock()
}

// Entries returns the appended entries, in Append order.
func (b *Buffer) Entries() []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries[:len(b.entries):len(b.entries)]
}

// Validate returns the first invalid entry's error, with its index, or nil.
func (b *Buffer) Validate() error {
	for i, e := range b.Entries() {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return nil
}
