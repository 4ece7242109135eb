// Package sqlite is the cases service's embedded store: the shared SQL of
// store/internal/sqlcore on SQLite (pure Go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ponte-network/ponte/libs/changelog"
	litestore "github.com/ponte-network/ponte/libs/storage/sqlite"
	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the cases service's SQLite migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Store is the cases service's embedded store.
type Store struct {
	*sqlcore.Core
}

var _ store.Store = (*Store)(nil)

// Config returns the storage configuration for the cases service in the file at path.
func Config(path string) litestore.Config {
	return litestore.Config{Path: path, Migrations: Migrations()}
}

// Open opens (creating if needed) the database file and applies the migrations.
func Open(ctx context.Context, cfg litestore.Config) (*Store, error) {
	db, err := litestore.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open cases store: %w", err)
	}
	return &Store{Core: sqlcore.New(adapter{db})}, nil
}

type adapter struct{ db *litestore.DB }

func (a adapter) Read() sqlcore.Q { return querier{a.db.Read} }

func (a adapter) Write(ctx context.Context, fn func(context.Context, sqlcore.Q, changelog.Appender) error) error {
	return a.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		return fn(ctx, querier{tx}, log)
	})
}

func (a adapter) Feed() changelog.Feed            { return a.db.Feed() }
func (a adapter) Ready(ctx context.Context) error { return a.db.Ready(ctx) }
func (a adapter) Close() error                    { return a.db.Close() }

type sqlq interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type querier struct{ q sqlq }

func mapErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %v", sqlcore.ErrUnique, err)
	}
	return err
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args []any, each func(func(...any) error) error) error {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}
