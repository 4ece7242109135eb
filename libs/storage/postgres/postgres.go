// Package postgres is the PostgreSQL toolkit every service's store builds on: a pgx pool
// confined to the service's schema, goose migrations embedded in the binary and applied at
// start, write transactions that carry the service's change log (transactional outbox),
// and the change feed that reads it back.
//
// WriteTx keeps the change log's ordering guarantee (package changelog): it inserts the
// transaction's entries last, right before COMMIT, under a transaction-scoped advisory
// lock constant for the schema's log, so Positions are taken in commit order. The price is
// that transactions which record changes commit one at a time; those that record nothing
// never take the lock. Watch wakes on LISTEN/NOTIFY (one connection per DB, shared by all
// watchers, reconnected if it drops) and polls every 2s as a fallback.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-network/ponte/libs/changelog"
)

// Config says where a service's data lives and how to reach it.
type Config struct {
	URL            string               // postgres:// URL (or key=value DSN)
	Schema         string               // service schema, e.g. "directory": created if missing; the pool's search_path is set to it (then public)
	Migrations     fs.FS                // the service's goose SQL migrations (files at the FS root: 00001_init.sql ...); may be nil
	QueryExecMode  string               // "" (pgx default, statement cache) | "cache_describe" | "describe_exec" | "exec" | "simple_protocol" (PgBouncer transaction mode)
	MaxConns       int32                // 0 = pgx default
	TracerProvider trace.TracerProvider // nil = otel global; each SQL statement becomes a span via otelpgx (no argument values)
	// MeterProvider, if set, receives the pool's usage (connections acquired, idle, waits)
	// through otelpgx, with the attribute ponte.schema.
	MeterProvider metric.MeterProvider
	// DirectURL, if set, reaches the server without a transaction-mode pooler; it is used
	// for migrations (session advisory lock) and for the LISTEN connection, which do not
	// work through PgBouncer in transaction mode. "" = URL.
	DirectURL string
	// ServeRole, if set, is the role `ponte serve` connects as, distinct from the owner
	// that migrates: Migrate grants it what serving needs — SELECT, INSERT, UPDATE and
	// DELETE on the schema's tables, only SELECT and INSERT on AppendOnly ones, only
	// SELECT on the migration versions — and nothing that alters a table, so it cannot
	// truncate, rewrite or un-trigger an append-only table.
	ServeRole string
	// AppendOnly are the service's tables ServeRole may only read and append to.
	AppendOnly []string
}

const (
	changelogTable        = "ponte_changelog"         // the log, in the service schema
	changelogVersionTable = "ponte_changelog_version" // goose versions of this package's own migrations
	serviceVersionTable   = "goose_db_version"        // goose versions of the service's migrations
	rollbackTimeout       = 5 * time.Second
)

// schemaName keeps schema names to plain lower-case identifiers, so they never need quoting.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c Config) validate() error {
	if c.URL == "" {
		return errors.New("no URL")
	}
	if !schemaName.MatchString(c.Schema) || len(c.Schema) >= 3 && c.Schema[:3] == "pg_" {
		return fmt.Errorf("schema %q: want a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 bytes, not pg_*)", c.Schema)
	}
	if _, err := execMode(c.QueryExecMode); err != nil {
		return err
	}
	return nil
}

func execMode(s string) (pgx.QueryExecMode, error) {
	switch s {
	case "", "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "cache_describe":
		return pgx.QueryExecModeCacheDescribe, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "exec":
		return pgx.QueryExecModeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, fmt.Errorf("unknown query exec mode %q", s)
}

// connConfig parses url for the service schema: search_path and, if set, the exec mode.
func (c Config) connConfig(url string) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	applyConn(cc, c)
	return cc, nil
}

// urlOrDirect is the URL that migrations use.
func (c Config) urlOrDirect() string { return cmp.Or(c.DirectURL, c.URL) }

func applyConn(cc *pgx.ConnConfig, c Config) {
	// public stays on the path so that extensions installed there (unaccent, pg_trgm) resolve.
	cc.RuntimeParams["search_path"] = c.Schema + ", public"
	if c.QueryExecMode != "" {
		cc.DefaultQueryExecMode, _ = execMode(c.QueryExecMode) // validated
	}
}

// key derives a stable advisory-lock key (or channel suffix) from a purpose and a schema.
func key(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ponte/" + purpose + "/" + schema))
	return int64(h.Sum64())
}

// DB is a service's PostgreSQL database: a pool confined to its schema, plus its change log.
type DB struct {
	// Pool runs the service's queries; its search_path is the service schema.
	Pool *pgxpool.Pool

	schema   string
	lockKey  int64  // pg_advisory_xact_lock key that orders the log (see package changelog)
	channel  string // NOTIFY channel of the log
	targets  versions
	sql      statements
	signal   changelog.Broadcaster // wakes watchers: local commits and LISTEN notifications
	listener *listener

	pollInterval time.Duration
	// beforeCommit, if set (tests only), runs after the log is written and before COMMIT.
	beforeCommit func(ctx context.Context) error
}

// statements are the package's own SQL, with the schema spelled out so that they work
// whatever search_path a pooler leaves on the server connection.
type statements struct {
	insert, list, head, versions string
}

func newStatements(schema string, withService bool) statements {
	log := schema + "." + changelogTable
	serviceVersion := "0"
	if withService {
		serviceVersion = "(SELECT coalesce(max(version_id), 0) FROM " + schema + "." + serviceVersionTable + ")"
	}
	return statements{
		insert: `INSERT INTO ` + log + ` (topic, record_key, op, payload, recorded_at)
SELECT topic, record_key, op, payload, recorded_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[])
     WITH ORDINALITY AS e(topic, record_key, op, payload, recorded_at, n)
ORDER BY n`,
		list: `SELECT position, topic, record_key, op, payload, recorded_at FROM ` + log + `
WHERE position > $1 ORDER BY position LIMIT $2`,
		head: `SELECT coalesce(max(position), 0) FROM ` + log,
		versions: `SELECT (SELECT coalesce(max(version_id), 0) FROM ` + schema + "." + changelogVersionTable + `), ` +
			serviceVersion,
	}
}

// Open connects, creates the schema, applies migrations (this package's change log first,
// then the service's) and returns a ready DB.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	targets, err := migrate(ctx, cfg, false)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: parse URL: %w", err)
	}
	applyConn(poolCfg.ConnConfig, cfg)
	if cfg.MaxConns > 0 {
		poolCfg.MaxConns = cfg.MaxConns
	}
	// otelpgx names spans after the SQL operation (its default, formerly
	// WithTrimSQLInSpanName) and records no argument values unless asked to.
	poolCfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(cfg.TracerProvider))

	listenCfg := poolCfg.ConnConfig.Copy()
	if cfg.DirectURL != "" {
		if listenCfg, err = cfg.connConfig(cfg.DirectURL); err != nil {
			return nil, fmt.Errorf("open postgres: direct %w", err)
		}
	}
	listenCfg.Tracer = nil // the background LISTEN connection is not part of any request

	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.MeterProvider != nil {
		if err := otelpgx.RecordStats(pool, otelpgx.WithStatsMeterProvider(cfg.MeterProvider),
			otelpgx.WithStatsAttributes(attribute.String("ponte.schema", cfg.Schema))); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open postgres: pool metrics: %w", err)
		}
	}
	db := &DB{
		Pool:         pool,
		schema:       cfg.Schema,
		lockKey:      key("changelog", cfg.Schema),
		channel:      channelName(cfg.Schema),
		targets:      targets,
		sql:          newStatements(cfg.Schema, cfg.Migrations != nil),
		pollInterval: changelog.DefaultPollInterval,
	}
	db.listener = newListener(listenCfg, db.channel, &db.signal)
	return db, nil
}

// channelName is the log's NOTIFY channel; channel names are identifiers of at most 63 bytes.
func channelName(schema string) string {
	if ch := "ponte_changelog_" + schema; len(ch) <= 63 {
		return ch
	}
	return fmt.Sprintf("ponte_changelog_%016x", uint64(key("channel", schema)))
}

// WriteTx runs fn in a transaction and commits it with the change-log entries fn appended.
// An error from fn (returned as is) or a panic (re-raised) rolls everything back.
//
// Failures to reach the server come back wrapped in storage.ErrUnavailable (MapUnavailable).
func (db *DB) WriteTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error) error {
	return MapUnavailable(db.writeTx(ctx, fn))
}

func (db *DB) writeTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("write transaction: begin: %w", err)
	}
	defer func() {
		// After Commit this is a no-op; otherwise (error, panic) it rolls back, with a
		// context that survives the caller's cancellation so the connection is left clean.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()

	var buf changelog.Buffer
	if err := fn(ctx, tx, &buf); err != nil {
		return err
	}
	entries := buf.Entries()
	if len(entries) > 0 {
		if err := buf.Validate(); err != nil {
			return fmt.Errorf("write transaction: %w", err)
		}
		if err := db.flush(ctx, tx, entries); err != nil {
			return fmt.Errorf("write transaction: record changes: %w", err)
		}
	}
	if db.beforeCommit != nil {
		if err := db.beforeCommit(ctx); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("write transaction: commit: %w", err)
	}
	if len(entries) > 0 {
		db.signal.Notify() // local watchers need not wait for the NOTIFY round trip
	}
	return nil
}

// flush writes the buffered entries as the transaction's last statements. The advisory
// lock makes "take Positions" and "commit" one critical section per log: it is released
// only after COMMIT is visible, so Positions are allocated in commit order.
//
// Deferred constraints are checked first, before the lock: checked at COMMIT they could
// wait on a row held by a writer that waits on the lock (a deadlock PostgreSQL would break
// by failing one of them after deadlock_timeout).
//
// A few entries (an API write) go in the same round trip as the lock; many (a batch) by
// COPY, which PostgreSQL takes at about half the cost of the same rows unnested from
// arrays. Both keep the entries' order: COPY assigns identities in the order of its rows.
func (db *DB) flush(ctx context.Context, tx pgx.Tx, entries []changelog.Entry) error {
	n := len(entries)
	b := &pgx.Batch{}
	b.Queue("SET CONSTRAINTS ALL IMMEDIATE")
	b.Queue("SELECT pg_advisory_xact_lock($1)", db.lockKey)
	if n < copyEntries {
		topics, keys, ops := make([]string, n), make([]string, n), make([]string, n)
		payloads, times := make([][]byte, n), make([]time.Time, n)
		for i, e := range entries {
			topics[i], keys[i], ops[i], payloads[i], times[i] = e.Topic, e.Key, string(e.Op), e.Payload, e.Time
		}
		b.Queue(db.sql.insert, topics, keys, ops, payloads, times)
		b.Queue("SELECT pg_notify($1, '')", db.channel)
		return tx.SendBatch(ctx, b).Close()
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	rows := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		e := entries[i]
		return []any{e.Topic, e.Key, string(e.Op), e.Payload, e.Time}, nil
	})
	columns := []string{"topic", "record_key", "op", "payload", "recorded_at"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{db.schema, changelogTable}, columns, rows); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", db.channel)
	return err
}

// copyEntries is how many entries a transaction writes to the log before flush uses COPY.
const copyEntries = 64

// Feed returns the change feed of this database's log.
func (db *DB) Feed() changelog.Feed { return feed{db} }

// Ready returns nil when the server is reachable and the schema is at the latest migration.
func (db *DB) Ready(ctx context.Context) error {
	var lib, svc int64
	if err := db.Pool.QueryRow(ctx, db.sql.versions).Scan(&lib, &svc); err != nil {
		return MapUnavailable(fmt.Errorf("postgres ready: %w", err))
	}
	if lib < db.targets.changelog || svc < db.targets.service {
		return fmt.Errorf("postgres ready: schema %s at versions %d/%d, want %d/%d",
			db.schema, lib, svc, db.targets.changelog, db.targets.service)
	}
	return nil
}

// Close stops the LISTEN connection and closes the pool.
func (db *DB) Close() {
	db.listener.close()
	db.Pool.Close()
}

// feed reads the log of one DB.
type feed struct{ db *DB }

// List returns up to limit entries with Position > after, in Position order.
func (f feed) List(ctx context.Context, after int64, limit int) ([]changelog.Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("list changes: limit %d must be positive", limit)
	}
	rows, err := f.db.Pool.Query(ctx, f.db.sql.list, after, limit)
	if err != nil {
		return nil, MapUnavailable(fmt.Errorf("list changes: %w", err))
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (changelog.Entry, error) {
		var e changelog.Entry
		var op string
		err := row.Scan(&e.Position, &e.Topic, &e.Key, &op, &e.Payload, &e.Time)
		e.Op, e.Time = changelog.Op(op), e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, MapUnavailable(fmt.Errorf("list changes: %w", err))
	}
	return entries, nil
}

// Watch follows the log from after: the backlog, then entries as they commit.
func (f feed) Watch(ctx context.Context, after int64, fn func(changelog.Entry) error) error {
	return changelog.Poller{
		List:      f.List,
		Subscribe: f.db.subscribe,
		Interval:  f.db.pollInterval,
	}.Watch(ctx, after, fn)
}

// Head returns the Position of the last committed entry (0 if none).
func (f feed) Head(ctx context.Context) (int64, error) {
	var h int64
	if err := f.db.Pool.QueryRow(ctx, f.db.sql.head).Scan(&h); err != nil {
		return 0, MapUnavailable(fmt.Errorf("changes head: %w", err))
	}
	return h, nil
}

// Generation counts local commits and NOTIFYs on the log's channel, starting the shared
// LISTEN connection if needed.
func (f feed) Generation() uint64 {
	f.db.listener.start()
	return f.db.signal.Generation()
}

// subscribe starts the shared LISTEN connection if needed and subscribes to wake-ups.
func (db *DB) subscribe() (<-chan struct{}, func()) {
	db.listener.start()
	return db.signal.Subscribe()
}
