package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/changelog/changelogtest"
)

//go:embed testdata/migrations/*.sql
var testdata embed.FS

func serviceMigrations(t testing.TB) fs.FS {
	sub, err := fs.Sub(testdata, "testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func testConfig(t testing.TB) Config {
	return Config{Path: filepath.Join(t.TempDir(), "data", "service.db"), Migrations: serviceMigrations(t)}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t testing.TB, cfg Config) *DB {
	t.Helper()
	db, err := Open(testContext(t), cfg)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return db
}

// harness adapts a DB to the changelog conformance suite.
type harness struct{ db *DB }

func (h harness) Write(ctx context.Context, fn func(changelog.Appender) error) error {
	return h.db.WriteTx(ctx, func(_ context.Context, _ *sql.Tx, log changelog.Appender) error { return fn(log) })
}

func (h harness) Feed() changelog.Feed { return h.db.Feed() }

func TestChangelogConformance(t *testing.T) {
	t.Parallel()
	changelogtest.Run(t, func(t *testing.T) changelogtest.Store { return harness{open(t, testConfig(t))} })
}

// TestConcurrentWritersKeepCommitOrder is the ordering guarantee under load, with the same
// pauses and failures between taking Positions and COMMIT as on PostgreSQL.
func TestConcurrentWritersKeepCommitOrder(t *testing.T) {
	t.Parallel()
	db := open(t, testConfig(t))
	db.beforeCommit = func(context.Context) error {
		switch n := rand.IntN(20); {
		case n == 0:
			return changelogtest.ErrRollback
		case n < 3:
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
		}
		return nil
	}
	changelogtest.RunConcurrentWriters(t, harness{db}, changelogtest.Concurrency{Writers: 16, Transactions: 30})
}

// TestAnotherProcessCommits checks that a watcher sees commits made through another DB on
// the same file (as by another process), which only the poll can reveal.
func TestAnotherProcessCommits(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	reader, writer := open(t, cfg), open(t, cfg)
	ctx := testContext(t)
	got := make(chan string, 1)
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = reader.Feed().Watch(watchCtx, 0, func(e changelog.Entry) error { got <- e.Key; return nil })
	}()
	err := writer.WriteTx(ctx, func(_ context.Context, _ *sql.Tx, log changelog.Appender) error {
		log.Append(changelog.Entry{Topic: "item", Key: "from-elsewhere", Op: changelog.OpUpsert})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-got:
		if k != "from-elsewhere" {
			t.Fatalf("watched %s", k)
		}
	case <-time.After(10 * PollInterval):
		t.Fatalf("a commit from another connection pool did not arrive within %v", 10*PollInterval)
	}
}

func TestWriteTxCommitsRowsAndChangesTogether(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("refused")
	insert := func(ctx context.Context, tx *sql.Tx, log changelog.Appender, id string) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, name) VALUES (?, ?)", id, "name "+id); err != nil {
			return err
		}
		log.Append(changelog.Entry{Topic: "item", Key: id, Op: changelog.OpUpsert})
		return nil
	}
	tests := []struct {
		name    string
		fn      func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error
		wantErr func(error) bool
		panics  bool
		rows    int
	}{
		{"a successful transaction keeps its rows and its entries",
			func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
				return errors.Join(insert(ctx, tx, log, "a"), insert(ctx, tx, log, "b"))
			}, nil, false, 2},
		{"an error from fn leaves neither rows nor entries and is returned as is",
			func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
				if err := insert(ctx, tx, log, "a"); err != nil {
					return err
				}
				return errRefused
			}, func(err error) bool { return err == errRefused }, false, 0},
		{"a failing statement aborts the rows and entries before it",
			func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
				if err := insert(ctx, tx, log, "a"); err != nil {
					return err
				}
				return insert(ctx, tx, log, "a") // duplicate key
			}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "UNIQUE") }, false, 0},
		{"a panic leaves neither rows nor entries",
			func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
				_ = insert(ctx, tx, log, "a")
				panic("boom")
			}, nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, testConfig(t))
			ctx := testContext(t)
			var err error
			func() {
				defer func() {
					if r := recover(); (r != nil) != tt.panics {
						t.Fatalf("recovered %v, want panic=%v", r, tt.panics)
					}
				}()
				err = db.WriteTx(ctx, tt.fn)
			}()
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("WriteTx() = %v", err)
			}
			var rows int
			if err := db.Read.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			entries, err := db.Feed().List(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if rows != tt.rows || len(entries) != tt.rows {
				t.Fatalf("%d rows and %d entries, want %d of each", rows, len(entries), tt.rows)
			}
			// The writer connection is free afterwards: nothing is left mid-transaction.
			if err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
				return insert(ctx, tx, log, "after")
			}); err != nil {
				t.Fatalf("WriteTx() after = %v", err)
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	db := open(t, cfg)
	ctx := testContext(t)
	tests := []struct {
		name  string
		pool  *sql.DB
		query string
		want  string
	}{
		{"the file is in WAL mode", db.Read, "PRAGMA journal_mode", "wal"},
		{"readers enforce foreign keys", db.Read, "PRAGMA foreign_keys", "1"},
		{"the writer enforces foreign keys", db.Write, "PRAGMA foreign_keys", "1"},
		{"readers wait for the file lock", db.Read, "PRAGMA busy_timeout", busyTimeout},
		{"the writer waits for the file lock", db.Write, "PRAGMA busy_timeout", busyTimeout},
		{"readers are read-only", db.Read, "PRAGMA query_only", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if err := tt.pool.QueryRowContext(ctx, tt.query).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("%s = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
	if _, err := db.Read.ExecContext(ctx, "INSERT INTO items (id, name) VALUES ('x', 'y')"); err == nil {
		t.Error("a reader connection wrote")
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(cfg.Path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s%s has permissions %v, want owner only", filepath.Base(cfg.Path), suffix, perm)
		}
	}
	if n := db.Write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	versionsOf := func(t *testing.T, db *DB) string {
		t.Helper()
		var out []string
		for _, table := range []string{changelogVersionTable, serviceVersionTable} {
			rows, err := db.Read.QueryContext(testContext(t), "SELECT version_id FROM "+table+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			var vs []int64
			for rows.Next() {
				var v int64
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(table, vs))
		}
		return strings.Join(out, " ")
	}
	const want = "ponte_changelog_version[0 1] goose_db_version[0 1 2]"
	tests := []struct {
		name     string
		migrates int
	}{
		{"Open alone migrates a new file", 0},
		{"migrating before Open is a no-op for Open", 1},
		{"migrating twice is a no-op", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			for range tt.migrates {
				if err := Migrate(testContext(t), cfg); err != nil {
					t.Fatalf("Migrate() = %v", err)
				}
			}
			db := open(t, cfg)
			if got := versionsOf(t, db); got != want {
				t.Fatalf("versions %s, want %s", got, want)
			}
			if err := db.Ready(testContext(t)); err != nil {
				t.Fatalf("Ready() = %v", err)
			}
		})
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		breakSQL string
	}{
		{"a schema behind the service's latest migration is not ready", "DELETE FROM goose_db_version WHERE version_id = 2"},
		{"a schema behind the change log's migration is not ready", "DELETE FROM ponte_changelog_version WHERE version_id = 1"},
		{"a missing version table is not ready", "DROP TABLE goose_db_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, testConfig(t))
			ctx := testContext(t)
			if err := db.Ready(ctx); err != nil {
				t.Fatalf("Ready() of a migrated database = %v", err)
			}
			if _, err := db.Write.ExecContext(ctx, tt.breakSQL); err != nil {
				t.Fatal(err)
			}
			if err := db.Ready(ctx); err == nil {
				t.Fatal("Ready() = nil, want an error")
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(t *testing.T) Config
		want string
	}{
		{"a missing path", func(*testing.T) Config { return Config{} }, "no path"},
		{"an in-memory database", func(*testing.T) Config { return Config{Path: ":memory:"} }, "file path"},
		{"a URI", func(*testing.T) Config { return Config{Path: "file:x.db?mode=ro"} }, "file path"},
		{"a path with a query", func(t *testing.T) Config { return Config{Path: t.TempDir() + "/x?.db"} }, "not supported"},
		{"a directory that cannot be created", func(t *testing.T) Config {
			return Config{Path: "/proc/ponte/x.db"}
		}, "open sqlite"},
		{"a broken service migration", func(t *testing.T) Config {
			return Config{Path: filepath.Join(t.TempDir(), "x.db"), Migrations: fstest.MapFS{
				"00001_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLEX broken (id int);\n")},
			}}
		}, "service migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(testContext(t), tt.cfg(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestTracingRecordsStatementsWithoutArguments(t *testing.T) {
	t.Parallel()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg := testConfig(t)
	cfg.TracerProvider = tp
	db := open(t, cfg)
	exporter.Reset() // forget the migrations
	ctx, request := tp.Tracer("test").Start(testContext(t), "request")
	const secret = "Maria Rossi RSSMRA80A41H501U"
	err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO items (id, name) VALUES (?, ?)", "p1", secret)
		log.Append(changelog.Entry{Topic: "person", Key: secret, Op: changelog.OpUpsert, Payload: []byte(secret)})
		return err
	})
	request.End()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range exporter.GetSpans() {
		names = append(names, s.Name)
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.Emit(), "RSSMRA") {
				t.Errorf("span %q attribute %s carries an argument value", s.Name, a.Key)
			}
		}
	}
	t.Logf("spans: %v", names)
	if !slices.Contains(names, "sql.conn.exec") && !slices.Contains(names, "sql.stmt.exec") {
		t.Fatalf("span names %v, want statement spans", names)
	}
}

func TestPoolMetricsAreExportedPerPoolUntilClose(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	cfg := testConfig(t)
	cfg.MeterProvider = mp
	db, err := Open(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// maxOpen reads db.sql.connection.max_open per pool.
	maxOpen := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(testContext(t), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != "db.sql.connection.max_open" {
					continue
				}
				for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					pool, _ := dp.Attributes.Value("ponte.pool")
					schema, _ := dp.Attributes.Value("ponte.schema")
					if schema != attribute.StringValue("service") {
						t.Errorf("pool metric labelled ponte.schema=%q, want the file's base name", schema.Emit())
					}
					out[pool.Emit()] = dp.Value
				}
			}
		}
		return out
	}
	got := maxOpen()
	if got["write"] != 1 || got["read"] < 4 {
		t.Errorf("max open connections per pool = %v, want write 1 and read at least 4", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := maxOpen(); len(got) != 0 {
		t.Errorf("a closed store still reports pool metrics: %v", got)
	}
}

// BenchmarkWriteTx measures parallel write transactions that insert one row, with and
// without a change-log entry.
func BenchmarkWriteTx(b *testing.B) {
	for _, withEntry := range []bool{false, true} {
		b.Run(fmt.Sprintf("entry=%v", withEntry), func(b *testing.B) {
			db := open(b, testConfig(b))
			ctx := testContext(b)
			var n atomic.Int64
			b.SetParallelism(8) // 16 writers on 2 cores, like a busy service
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprint(n.Add(1))
					err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
						if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, name) VALUES (?, 'x')", id); err != nil {
							return err
						}
						if withEntry {
							log.Append(changelog.Entry{Topic: "item", Key: id, Op: changelog.OpUpsert, Payload: []byte("x")})
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
