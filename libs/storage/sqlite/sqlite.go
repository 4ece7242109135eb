// Package sqlite is the embedded store every service can run on when no PostgreSQL is
// configured: one SQLite file per service through a pure-Go driver (modernc.org/sqlite, no
// cgo), goose migrations embedded in the binary, write transactions that carry the
// service's change log, and its change feed (see package changelog for the ordering
// guarantee: here all writes go through one connection, BEGIN IMMEDIATE).
//
// One process owns a database file: other processes may read it (and write through
// WriteTx, which the file lock serializes), but migrations from two processes starting
// at the same moment are not coordinated — one of them fails and succeeds on restart.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/XSAM/otelsql"
	"github.com/pressly/goose/v3"

	"github.com/ponte-network/ponte/libs/storage/migration"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage/internal/kinds"
)

// Config says where the embedded database lives.
type Config struct {
	Path           string               // database file, created with its directory if missing
	Migrations     fs.FS                // the service's goose SQL migrations (sqlite3 dialect, files at the FS root); may be nil
	TracerProvider trace.TracerProvider // optional: statements become spans via otelsql (no argument values)
	// MeterProvider, if set, receives the connection pools' usage (otelsql's db.sql.connection.*
	// metrics, as the PostgreSQL store exports pgxpool's), labelled with ponte.schema (the file's
	// base name, as the service's PostgreSQL schema) and ponte.pool ("read" or "write").
	MeterProvider metric.MeterProvider
}

const (
	changelogVersionTable = "ponte_changelog_version" // goose versions of this package's own migrations
	serviceVersionTable   = "goose_db_version"        // goose versions of the service's migrations
	busyTimeout           = "10000"                   // ms a connection waits for the file lock
	// PollInterval is how often a watcher re-reads the log without a wake-up: it catches
	// commits made by other processes; this process's own commits wake watchers at once.
	PollInterval = 200 * time.Millisecond
)

//go:embed migrations/*.sql
var ownMigrations embed.FS

// DB is a service's embedded database.
type DB struct {
	// Read runs queries: several connections, read-only, each seeing a consistent snapshot.
	Read *sql.DB
	// Write is the only connection that writes (MaxOpenConns 1; transactions BEGIN
	// IMMEDIATE); use it through WriteTx. WAL, busy_timeout and foreign_keys are on for both.
	Write *sql.DB

	targets versions
	sql     statements
	metrics []metric.Registration // pool metrics callbacks, unregistered by Close
	signal  changelog.Broadcaster // wakes watchers after each local commit

	pollInterval time.Duration
	// beforeCommit, if set (tests only), runs after the log is written and before COMMIT.
	beforeCommit func(ctx context.Context) error
}

type versions struct{ changelog, service int64 }

type statements struct{ versions string }

// dsn builds a modernc.org/sqlite data source for path; the parameters apply to every
// connection the pool opens.
func dsn(path string, params ...string) string {
	base := []string{
		"_pragma=busy_timeout(" + busyTimeout + ")",
		"_pragma=foreign_keys(1)",
		"_time_format=sqlite", // time.Time stored as text SQLite's date functions understand
	}
	return path + "?" + strings.Join(append(base, params...), "&")
}

func (c Config) validate() error {
	switch {
	case c.Path == "":
		return errors.New("no path")
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		return fmt.Errorf("path %q: want a file path", c.Path)
	case strings.ContainsAny(c.Path, "?#"):
		return fmt.Errorf("path %q: ? and # are not supported", c.Path)
	}
	return nil
}

// openDB opens a pool on dsn, traced if the config asks for it.
func (c Config) openDB(dsn string) (*sql.DB, error) {
	connector, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if c.TracerProvider == nil {
		return sql.OpenDB(connector), nil
	}
	return otelsql.OpenDB(connector,
		otelsql.WithTracerProvider(c.TracerProvider),
		otelsql.WithAttributes(semconv.DBSystemNameSQLite),
		otelsql.WithSpanOptions(otelsql.SpanOptions{OmitConnResetSession: true, OmitRows: true}),
	), nil
}

// openWrite opens the single writer connection, creating the file and its directory,
// readable by their owner only: the file may hold personal data. (SQLite gives its -wal
// and -shm files the database file's permissions.)
func (c Config) openWrite() (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	f, err := os.OpenFile(c.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	db, err := c.openDB(dsn(c.Path, "_pragma=journal_mode(WAL)", "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Open creates the database if missing, applies migrations (this package's change log
// first, then the service's) and returns a ready DB.
func Open(ctx context.Context, cfg Config) (_ *DB, err error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write, err := cfg.openWrite()
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	defer func() {
		if err != nil {
			_ = write.Close()
		}
	}()
	targets, err := migrate(ctx, write, cfg.Migrations)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read, err := cfg.openDB(dsn(cfg.Path, "_pragma=query_only(1)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		_ = read.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	var metrics []metric.Registration
	if cfg.MeterProvider != nil {
		if metrics, err = cfg.registerPoolMetrics(read, write); err != nil {
			_ = read.Close()
			return nil, fmt.Errorf("open sqlite: pool metrics: %w", err)
		}
	}
	serviceVersion := "0"
	if cfg.Migrations != nil {
		serviceVersion = "(SELECT coalesce(max(version_id), 0) FROM " + serviceVersionTable + ")"
	}
	return &DB{
		Read:    read,
		Write:   write,
		targets: targets,
		metrics: metrics,
		sql: statements{
			versions: "SELECT (SELECT coalesce(max(version_id), 0) FROM " + changelogVersionTable + "), " + serviceVersion,
		},
		pollInterval: PollInterval,
	}, nil
}

// Migrate creates the database if missing and applies this package's migrations, then the
// service's; re-running is a no-op.
func Migrate(ctx context.Context, cfg Config) (err error) {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	write, err := cfg.openWrite()
	if err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	defer func() { err = errors.Join(err, write.Close()) }()
	if _, err := migrate(ctx, write, cfg.Migrations); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, service fs.FS) (versions, error) {
	own, err := fs.Sub(ownMigrations, "migrations")
	if err != nil {
		return versions{}, err
	}
	var v versions
	if v.changelog, err = migration.Up(ctx, goose.DialectSQLite3, db, own, changelogVersionTable); err != nil {
		return versions{}, fmt.Errorf("change log migrations: %w", err)
	}
	if service != nil {
		if v.service, err = migration.Up(ctx, goose.DialectSQLite3, db, service, serviceVersionTable); err != nil {
			return versions{}, fmt.Errorf("service migrations: %w", err)
		}
	}
	return v, nil
}

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer connection)
// and commits it with the change-log entries fn appended. An error from fn (returned as is,
// but for a lock held past the busy timeout: MapBusy) or a panic (re-raised) rolls
// everything back.
func (db *DB) WriteTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error) error {
	return MapBusy(db.writeTx(ctx, fn))
}

func (db *DB) writeTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write transaction: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit; on error or panic it rolls back

	var buf changelog.Buffer
	if err := fn(ctx, tx, &buf); err != nil {
		return err
	}
	entries := buf.Entries()
	if len(entries) > 0 {
		if err := buf.Validate(); err != nil {
			return fmt.Errorf("write transaction: %w", err)
		}
		if err := flush(ctx, tx, entries); err != nil {
			return fmt.Errorf("write transaction: record changes: %w", err)
		}
	}
	if db.beforeCommit != nil {
		if err := db.beforeCommit(ctx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write transaction: commit: %w", err)
	}
	if len(entries) > 0 {
		db.signal.Notify()
	}
	return nil
}

// flush writes the buffered entries. The transaction holds the database write lock since
// BEGIN IMMEDIATE, so the AUTOINCREMENT positions it takes are in commit order.
func flush(ctx context.Context, tx *sql.Tx, entries []changelog.Entry) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO ponte_changelog (topic, record_key, op, payload, recorded_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer func() { _ = stmt.Close() }()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.Topic, e.Key, string(e.Op), blob(e.Payload), e.Time.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}

// blob keeps a nil payload NULL and an empty one an empty BLOB.
func blob(b []byte) driver.Value {
	if b == nil {
		return nil
	}
	return b
}

// Feed returns the change feed of this database's log.
func (db *DB) Feed() changelog.Feed { return feed{db} }

// Ready returns nil when the database answers and its schema is at the latest migration.
func (db *DB) Ready(ctx context.Context) error {
	var lib, svc int64
	if err := db.Read.QueryRowContext(ctx, db.sql.versions).Scan(&lib, &svc); err != nil {
		return fmt.Errorf("sqlite ready: %w", err)
	}
	if lib < db.targets.changelog || svc < db.targets.service {
		return fmt.Errorf("sqlite ready: schema at versions %d/%d, want %d/%d", lib, svc, db.targets.changelog, db.targets.service)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	for _, r := range db.metrics {
		errs = append(errs, r.Unregister())
	}
	return errors.Join(append(errs, db.Read.Close(), db.Write.Close())...)
}

// registerPoolMetrics reports the read and write pools' database/sql statistics.
func (c Config) registerPoolMetrics(read, write *sql.DB) ([]metric.Registration, error) {
	schema := strings.TrimSuffix(filepath.Base(c.Path), filepath.Ext(c.Path))
	var regs []metric.Registration
	for _, p := range []struct {
		name string
		db   *sql.DB
	}{{"read", read}, {"write", write}} {
		reg, err := otelsql.RegisterDBStatsMetrics(p.db, otelsql.WithMeterProvider(c.MeterProvider),
			otelsql.WithAttributes(semconv.DBSystemNameSQLite, attribute.String("ponte.schema", schema), attribute.String("ponte.pool", p.name)))
		if err != nil {
			for _, r := range regs {
				_ = r.Unregister()
			}
			return nil, err
		}
		regs = append(regs, reg)
	}
	return regs, nil
}

// feed reads the log of one DB.
type feed struct{ db *DB }

// List returns up to limit entries with Position > after, in Position order.
func (f feed) List(ctx context.Context, after int64, limit int) (_ []changelog.Entry, err error) {
	if limit <= 0 {
		return nil, fmt.Errorf("list changes: limit %d must be positive", limit)
	}
	rows, err := f.db.Read.QueryContext(ctx, `SELECT position, topic, record_key, op, payload, recorded_at
FROM ponte_changelog WHERE position > ? ORDER BY position LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	defer func() { err = errors.Join(err, rows.Close()) }()
	var out []changelog.Entry
	for rows.Next() {
		var e changelog.Entry
		var op string
		var micros int64
		if err := rows.Scan(&e.Position, &e.Topic, &e.Key, &op, &e.Payload, &micros); err != nil {
			return nil, fmt.Errorf("list changes: %w", err)
		}
		e.Op, e.Time = changelog.Op(op), time.UnixMicro(micros).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	return out, nil
}

// Watch follows the log from after: the backlog, then entries as they commit.
func (f feed) Watch(ctx context.Context, after int64, fn func(changelog.Entry) error) error {
	return changelog.Poller{
		List:      f.List,
		Subscribe: f.db.signal.Subscribe,
		Interval:  f.db.pollInterval,
	}.Watch(ctx, after, fn)
}

// Generation counts this DB's commits with entries. Other processes writing the same
// file are not signalled: their entries are seen at the next read of the log.
func (f feed) Generation() uint64 { return f.db.signal.Generation() }

// Head returns the Position of the last committed entry (0 if none).
func (f feed) Head(ctx context.Context) (int64, error) {
	var h int64
	if err := f.db.Read.QueryRowContext(ctx, "SELECT coalesce(max(position), 0) FROM ponte_changelog").Scan(&h); err != nil {
		return 0, fmt.Errorf("changes head: %w", err)
	}
	return h, nil
}

// MapBusy wraps err in storage.ErrUnavailable when it says the database stayed locked by
// another writer past the busy timeout (SQLITE_BUSY or SQLITE_LOCKED, extended codes
// included): the caller may retry, and the API answers 503, not 500. Other errors pass
// unchanged.
func MapBusy(err error) error {
	var le *msqlite.Error
	if err == nil || errors.Is(err, kinds.Unavailable) || !errors.As(err, &le) {
		return err
	}
	switch le.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %w", kinds.Unavailable, err)
	}
	return err
}
