package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage/sqlite"
)

// SQLiteDB is a DB on the embedded store. Its writes are serialised: one connection,
// BEGIN IMMEDIATE, so a check made inside Write holds until the transaction commits.
type SQLiteDB struct {
	// DB is the underlying pair of pools and change log.
	DB *sqlite.DB
}

var _ DB = (*SQLiteDB)(nil)

// OpenSQLite opens (creating if needed) the database file, applies the migrations cfg
// names and returns the DB.
func OpenSQLite(ctx context.Context, cfg sqlite.Config) (*SQLiteDB, error) {
	db, err := sqlite.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &SQLiteDB{DB: db}, nil
}

// Dialect implements DB.
func (*SQLiteDB) Dialect() Dialect { return DialectSQLite }

// Read implements DB: statements on the read-only pool.
func (s *SQLiteDB) Read() Q { return liteQ{s.DB.Read} }

// Write implements DB on sqlite.DB.WriteTx.
func (s *SQLiteDB) Write(ctx context.Context, fn func(context.Context, Q, changelog.Appender) error) error {
	return mapLiteErr(s.DB.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		return fn(ctx, liteQ{tx}, log)
	}))
}

// Feed implements DB.
func (s *SQLiteDB) Feed() changelog.Feed { return s.DB.Feed() }

// Ready implements DB.
func (s *SQLiteDB) Ready(ctx context.Context) error { return s.DB.Ready(ctx) }

// Close implements DB.
func (s *SQLiteDB) Close() error { return s.DB.Close() }

// liteConn is what a pool and a transaction share.
type liteConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// liteQ is a Q on database/sql.
type liteQ struct{ c liteConn }

// Exec implements Q.
func (q liteQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.c.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapLiteErr(err)
	}
	return res.RowsAffected()
}

// Query implements Q.
func (q liteQ) Query(ctx context.Context, query string, args []any, each func(func(...any) error) error) error {
	rows, err := q.c.QueryContext(ctx, query, args...)
	if err != nil {
		return mapLiteErr(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return mapLiteErr(rows.Err())
}

// mapLiteErr turns constraint violations into *ConstraintError and a lock held past the
// busy timeout into storage.ErrUnavailable; other errors pass unchanged.
func mapLiteErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *ConstraintError
	if errors.As(err, &ce) {
		return err
	}
	var le *msqlite.Error
	if !errors.As(err, &le) {
		return err
	}
	var kind error
	switch le.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		kind = ErrUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		kind = ErrForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		kind = ErrCheck
	default:
		if busy := sqlite.MapBusy(err); busy != err {
			return busy
		}
		return err
	}
	return &ConstraintError{Kind: kind, Constraint: constraintColumns(le.Error()), Err: err}
}

// constraintColumns is what SQLite's message names after "constraint failed: "
// ("UNIQUE constraint failed: bookings.id (2067)" → "bookings.id").
func constraintColumns(msg string) string {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(marker):]
	if j := strings.Index(rest, " ("); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
