package sqlstore

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres"
)

// PostgresDB is a DB on PostgreSQL through pgx.
type PostgresDB struct {
	// DB is the underlying pool and change log, for what the interfaces do not cover
	// (benchmarks comparing with a raw COPY, LISTEN).
	DB *postgres.DB
}

var _ DB = (*PostgresDB)(nil)

// OpenPostgres connects, applies the migrations cfg names and returns the DB.
func OpenPostgres(ctx context.Context, cfg postgres.Config) (*PostgresDB, error) {
	db, err := postgres.Open(ctx, cfg)
	if err != nil {
		return nil, mapPgErr(err)
	}
	return &PostgresDB{DB: db}, nil
}

// Dialect implements DB.
func (*PostgresDB) Dialect() Dialect { return DialectPostgres }

// Read implements DB: statements on the pool.
func (p *PostgresDB) Read() Q { return pgQ{p.DB.Pool} }

// Write implements DB on postgres.DB.WriteTx.
func (p *PostgresDB) Write(ctx context.Context, fn func(context.Context, Q, changelog.Appender) error) error {
	return mapPgErr(p.DB.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		return fn(ctx, pgQ{tx}, log)
	}))
}

// Feed implements DB.
func (p *PostgresDB) Feed() changelog.Feed { return p.DB.Feed() }

// Ready implements DB.
func (p *PostgresDB) Ready(ctx context.Context) error { return mapPgErr(p.DB.Ready(ctx)) }

// Close implements DB.
func (p *PostgresDB) Close() error {
	p.DB.Close()
	return nil
}

// pgConn is what a pool and a transaction share.
type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// pgQ is a Q on a pool or a transaction; it takes text arrays and copies.
type pgQ struct{ c pgConn }

var (
	_ ArrayQ = pgQ{}
	_ Copier = pgQ{}
)

// TextArrays implements ArrayQ.
func (pgQ) TextArrays() {}

// CopyFrom implements Copier with COPY.
func (q pgQ) CopyFrom(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	n, err := q.c.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return n, mapPgErr(err)
}

// Exec implements Q.
func (q pgQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, Numbered(query), args...)
	if err != nil {
		return 0, mapPgErr(err)
	}
	return tag.RowsAffected(), nil
}

// Query implements Q.
func (q pgQ) Query(ctx context.Context, query string, args []any, each func(func(...any) error) error) error {
	// Queries are planned for their arguments each time (an unnamed statement): a cached
	// generic plan, made while a table was small, would scan it whole once it is large.
	rows, err := q.c.Query(ctx, Numbered(query), append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return mapPgErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return mapPgErr(rows.Err())
}

// Numbered turns "?" placeholders into PostgreSQL's $1, $2... Every "?" is a
// placeholder: the portable SQL writes none in literals or comments.
func Numbered(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
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

// PostgreSQL error codes the adapter maps.
const (
	pgUniqueViolation     = "23505"
	pgExclusionViolation  = "23P01"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
)

// mapPgErr turns constraint violations into *ConstraintError and failures to reach the
// server into storage.ErrUnavailable (postgres.MapUnavailable); other errors pass unchanged.
func mapPgErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	var ce *ConstraintError
	if errors.As(err, &ce) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		kind := map[string]error{
			pgUniqueViolation: ErrUnique, pgExclusionViolation: ErrExclusion,
			pgForeignKeyViolation: ErrForeignKey, pgCheckViolation: ErrCheck,
		}[pgErr.Code]
		if kind != nil {
			return &ConstraintError{Kind: kind, Constraint: pgErr.ConstraintName, Err: err}
		}
	}
	return postgres.MapUnavailable(err)
}
