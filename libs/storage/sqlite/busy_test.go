package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	msqlite "modernc.org/sqlite"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage/internal/kinds"
)

// busyError returns the error SQLite gives a writer that finds the file locked by another
// and waits no longer (busy_timeout 0).
func busyError(t *testing.T) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		connector, err := msqlite.NewConnector(path + "?_pragma=busy_timeout(0)&_pragma=journal_mode(wal)")
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(connector)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	holder, other := open(), open()
	ctx := context.Background()
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a second writer got the lock")
	}
	return err
}

func TestALockHeldPastTheBusyTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	busy := busyError(t)
	if got := MapBusy(busy); !errors.Is(got, kinds.Unavailable) {
		t.Errorf("MapBusy(%v) = %v, want it unavailable", busy, got)
	}
	other := errors.New("something else")
	if got := MapBusy(other); got != other {
		t.Errorf("MapBusy(another error) = %v, want it unchanged", got)
	}
	// WriteTx maps what fails inside it, so that every store built on it answers 503.
	db := open(t, testConfig(t))
	err := db.WriteTx(context.Background(), func(context.Context, *sql.Tx, changelog.Appender) error { return busy })
	if !errors.Is(err, kinds.Unavailable) {
		t.Errorf("WriteTx failing on a held lock = %v, want it unavailable", err)
	}
}
