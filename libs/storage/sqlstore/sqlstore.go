// Package sqlstore is the storage pattern Ponte's services follow (docs/storage.md): a
// service writes its SQL once, for both databases, against the small Q and DB interfaces
// here, and this package runs it on PostgreSQL (pgx) or on the embedded store (SQLite).
//
// The one SQL is portable by a few habits, which the adapters make easy: "?" placeholders
// (the PostgreSQL adapter numbers them $1, $2...), times as Unix microseconds in BIGINT /
// INTEGER columns, booleans as 0/1, records as protojson documents beside the columns
// that queries filter on, lists through EachIn (one text-array parameter on PostgreSQL,
// chunked IN lists on SQLite) and bulk writes through InsertRows (COPY on PostgreSQL,
// multi-row INSERTs on SQLite). Constraint violations come back as the same errors on
// both (ErrUnique, ErrExclusion, ErrForeignKey, ErrCheck in a *ConstraintError), and a
// database that cannot be reached as storage.ErrUnavailable.
//
// What PostgreSQL does better (exclusion constraints, partial indexes, full-text search)
// goes in its own migrations; Dialect tells the SQL core which database it is on when it
// must give the embedded store the same guarantee by other means (on SQLite all writes
// are serialised through one connection, so a check inside the write transaction holds
// until it commits).
package sqlstore

import (
	"context"
	"strings"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/libs/storage/sqlite"
)

// Dialect names the database a DB runs on.
type Dialect string

// The dialects a DB may run on.
const (
	DialectPostgres Dialect = "postgres"
	DialectSQLite   Dialect = "sqlite"
)

// Q runs statements, in a transaction or not. Queries use "?" placeholders.
type Q interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query and calls each for every row, with the row's Scan.
	Query(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error
}

// Copier is implemented by a Q that can bulk-load rows (PostgreSQL's COPY); InsertRows
// uses it when it can.
type Copier interface {
	// CopyFrom loads rows into table's columns and returns how many it loaded.
	CopyFrom(ctx context.Context, table string, columns []string, rows [][]any) (int64, error)
}

// ArrayQ is implemented by a Q that takes a list of values as one text-array parameter
// (PostgreSQL: "column = ANY(?::text[])"): one statement, planned once, whatever the
// list's length. EachIn uses it when it can.
type ArrayQ interface {
	// TextArrays marks the Q; it does nothing.
	TextArrays()
}

// DB is one service's database, on either dialect.
type DB interface {
	// Dialect is the database the DB runs on.
	Dialect() Dialect
	// Read returns a reader outside any transaction.
	Read() Q
	// Write runs fn in a write transaction that commits with the change-log entries fn
	// appends; an error from fn (returned as is) or a panic rolls everything back.
	Write(ctx context.Context, fn func(ctx context.Context, q Q, log changelog.Appender) error) error
	// Feed is the service's change feed.
	Feed() changelog.Feed
	// Ready returns nil when the database answers and its schema is current.
	Ready(ctx context.Context) error
	// Close releases the connections.
	Close() error
}

// Open opens the service's database where cfg says (PostgreSQL, or the embedded store
// when no database URL is given), applying m's migrations first.
func Open(ctx context.Context, cfg storage.Config, m storage.Migrations) (DB, error) {
	return storage.Open(ctx, cfg, m, storage.Backends[DB]{
		Postgres: func(ctx context.Context, c postgres.Config) (DB, error) { return OpenPostgres(ctx, c) },
		SQLite:   func(ctx context.Context, c sqlite.Config) (DB, error) { return OpenSQLite(ctx, c) },
	})
}

// Placeholders returns n "?" placeholders separated by commas.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inChunk is how many values an IN list holds at most.
const inChunk = 500

// EachIn calls fn with the condition "column is one of values" and its arguments: once
// with an array parameter when q takes arrays, else once per chunk of an IN list (at
// most 500 values). It does not call fn for an empty list.
func EachIn(q Q, column string, values []string, fn func(cond string, args []any) error) error {
	if len(values) == 0 {
		return nil
	}
	if _, ok := q.(ArrayQ); ok {
		return fn(column+" = ANY(?::text[])", []any{values})
	}
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v
		}
		if err := fn(column+" IN ("+Placeholders(len(chunk))+")", args); err != nil {
			return err
		}
	}
	return nil
}

// maxInsertArgs bounds the arguments of one multi-row INSERT (SQLite allows 32,766).
const maxInsertArgs = 3000

// InsertRows writes rows into table's columns: by COPY when q can, else by multi-row
// INSERTs of at most 3000 arguments each.
func InsertRows(ctx context.Context, q Q, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if cp, ok := q.(Copier); ok {
		_, err := cp.CopyFrom(ctx, table, columns, rows)
		return err
	}
	per := max(1, maxInsertArgs/len(columns))
	row := "(" + Placeholders(len(columns)) + ")"
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(chunk)*len(columns))
		for _, r := range chunk {
			args = append(args, r...)
		}
		_, err := q.Exec(ctx, `INSERT INTO `+table+` (`+strings.Join(columns, ", ")+`) VALUES `+
			strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", "), args...)
		if err != nil {
			return err
		}
	}
	return nil
}
