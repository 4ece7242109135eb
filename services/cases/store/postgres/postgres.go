// Package postgres is the cases service's PostgreSQL store: the shared SQL of
// store/internal/sqlcore on a pgx pool, in the schema "cases".
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/changelog"
	pgstore "github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the cases service's PostgreSQL migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Schema is the PostgreSQL schema the cases service keeps its tables in.
const Schema = "cases"

// Store is the cases service's PostgreSQL store.
type Store struct {
	*sqlcore.Core
	db *pgstore.DB
}

var _ store.Store = (*Store)(nil)

// Config returns the storage configuration for the cases service on the database at url.
func Config(url string) pgstore.Config {
	return pgstore.Config{URL: url, Schema: Schema, Migrations: Migrations()}
}

// Open connects to PostgreSQL and applies the cases service's migrations.
func Open(ctx context.Context, cfg pgstore.Config) (*Store, error) {
	db, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open cases store: %w", err)
	}
	return &Store{Core: sqlcore.New(adapter{db}), db: db}, nil
}

// Pool is the store's connection pool, for benchmarks comparing with COPY.
func (s *Store) Pool() *pgstore.DB { return s.db }

type adapter struct{ db *pgstore.DB }

func (a adapter) Read() sqlcore.Q { return querier{a.db.Pool} }

func (a adapter) Write(ctx context.Context, fn func(context.Context, sqlcore.Q, changelog.Appender) error) error {
	return a.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		return fn(ctx, querier{tx}, log)
	})
}

func (a adapter) Feed() changelog.Feed            { return a.db.Feed() }
func (a adapter) Ready(ctx context.Context) error { return a.db.Ready(ctx) }
func (a adapter) Close() error {
	a.db.Close()
	return nil
}

type pgq interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// CopyFrom implements sqlcore.Copier with PostgreSQL's COPY.
func (q querier) CopyFrom(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	n, err := q.q.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return n, mapErr(err)
}

type querier struct{ q pgq }

// TextArrays implements sqlcore.ArrayQ: lists go as one text[] parameter.
func (querier) TextArrays() {}

// numbered turns "?" placeholders into $1, $2...
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mapErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", sqlcore.ErrUnique, pgErr.ConstraintName)
	}
	return err
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, numbered(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, query string, args []any, each func(func(...any) error) error) error {
	// Queries are planned for their arguments each time (an unnamed statement): a cached
	// generic plan, made while a table was small, would scan it whole once it is large.
	rows, err := q.q.Query(ctx, numbered(query), append([]any{pgx.QueryExecModeExec}, args...)...)
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
