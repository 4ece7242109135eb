package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/changelog/changelogtest"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

//go:embed testdata/migrations/*.sql
var testdata embed.FS

const testSchema = "itemsvc"

func serviceMigrations(t testing.TB) fs.FS {
	sub, err := fs.Sub(testdata, "testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func testConfig(t testing.TB, url string) Config {
	return Config{URL: url, Schema: testSchema, Migrations: serviceMigrations(t), MaxConns: 4}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// migratedURL is a fresh database cloned from the migrated test template.
func migratedURL(t testing.TB) string {
	return pgtest.NewMigratedDatabase(t, "storage-postgres", func(ctx context.Context, url string) error {
		return Migrate(ctx, testConfig(t, url))
	})
}

func open(t testing.TB, cfg Config) *DB {
	t.Helper()
	db, err := Open(testContext(t), cfg)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func newDB(t testing.TB) *DB { return open(t, testConfig(t, migratedURL(t))) }

// harness adapts a DB to the changelog conformance suite.
type harness struct{ db *DB }

func (h harness) Write(ctx context.Context, fn func(changelog.Appender) error) error {
	return h.db.WriteTx(ctx, func(_ context.Context, _ pgx.Tx, log changelog.Appender) error { return fn(log) })
}

func (h harness) Feed() changelog.Feed { return h.db.Feed() }

func TestChangelogConformance(t *testing.T) {
	t.Parallel()
	changelogtest.Run(t, func(t *testing.T) changelogtest.Store { return harness{newDB(t)} })
}

// TestConcurrentWritersKeepCommitOrder is the ordering guarantee under load. The hook
// pauses some transactions after they took their Positions and before COMMIT, and fails
// others there (leaving gaps): without the advisory lock, later Positions would commit
// first and the readers would step over the earlier ones.
func TestConcurrentWritersKeepCommitOrder(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	db.beforeCommit = func(context.Context) error {
		switch n := rand.IntN(20); {
		case n == 0:
			return changelogtest.ErrRollback
		case n < 6:
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
		return nil
	}
	changelogtest.RunConcurrentWriters(t, harness{db}, changelogtest.Concurrency{Writers: 16, Transactions: 40})
}

func TestWriteTxCommitsRowsAndChangesTogether(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("refused")
	insert := func(ctx context.Context, tx pgx.Tx, log changelog.Appender, id string) error {
		if _, err := tx.Exec(ctx, "INSERT INTO items (id, name) VALUES ($1, $2)", id, "name "+id); err != nil {
			return err
		}
		log.Append(changelog.Entry{Topic: "item", Key: id, Op: changelog.OpUpsert})
		return nil
	}
	tests := []struct {
		name    string
		fn      func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error
		wantErr func(error) bool
		panics  bool
		rows    int
	}{
		{"a successful transaction keeps its rows and its entries",
			func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				return errors.Join(insert(ctx, tx, log, "a"), insert(ctx, tx, log, "b"))
			}, nil, false, 2},
		{"an error from fn leaves neither rows nor entries and is returned as is",
			func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				if err := insert(ctx, tx, log, "a"); err != nil {
					return err
				}
				return errRefused
			}, func(err error) bool { return err == errRefused }, false, 0},
		{"a failing statement aborts the rows and entries before it",
			func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				if err := insert(ctx, tx, log, "a"); err != nil {
					return err
				}
				return insert(ctx, tx, log, "a") // duplicate key
			}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "duplicate key") }, false, 0},
		{"a deferred constraint that fails leaves neither rows nor entries",
			func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				if err := insert(ctx, tx, log, "a"); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "INSERT INTO tags (id, item_id) VALUES ('t', 'missing')")
				return err // nil: the foreign key is only checked at the end
			}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "foreign key") }, false, 0},
		{"a panic leaves neither rows nor entries",
			func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				_ = insert(ctx, tx, log, "a")
				panic("boom")
			}, nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
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
			if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			entries, err := db.Feed().List(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if rows != tt.rows || len(entries) != tt.rows {
				t.Fatalf("%d rows and %d entries, want %d of each", rows, len(entries), tt.rows)
			}
			// The pool is healthy afterwards: nothing is left locked or mid-transaction.
			if err := db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				return insert(ctx, tx, log, "after")
			}); err != nil {
				t.Fatalf("WriteTx() after = %v", err)
			}
		})
	}
}

func TestQueryExecModes(t *testing.T) {
	t.Parallel()
	url := migratedURL(t)
	for _, mode := range []string{"", "cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run("mode "+mode, func(t *testing.T) {
			cfg := testConfig(t, url)
			cfg.QueryExecMode = mode
			db := open(t, cfg)
			ctx := testContext(t)
			before, err := db.Feed().Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
				if _, err := tx.Exec(ctx, "INSERT INTO items (id, name) VALUES ($1, $2)", "m"+mode, "x"); err != nil {
					return err
				}
				log.Append(changelog.Entry{Topic: "item", Key: "m" + mode, Op: changelog.OpUpsert, Payload: []byte{0, 1, 2, '\'', '\\'}})
				log.Append(changelog.Entry{Topic: "item", Key: "d" + mode, Op: changelog.OpDelete})
				return nil
			})
			if err != nil {
				t.Fatalf("WriteTx() = %v", err)
			}
			got, err := db.Feed().List(ctx, before, 10)
			if err != nil {
				t.Fatalf("List() = %v", err)
			}
			if len(got) != 2 || string(got[0].Payload) != "\x00\x01\x02'\\" || got[1].Payload != nil || got[1].Op != changelog.OpDelete {
				t.Fatalf("List() = %+v", got)
			}
			if err := db.Ready(ctx); err != nil {
				t.Fatalf("Ready() = %v", err)
			}
		})
	}
}

// TestWatchFollowsOtherProcesses checks the LISTEN/NOTIFY path: a watcher on one DB learns
// of commits made through another (as from another process) long before its poll, and
// again after its LISTEN connection was killed.
func TestWatchFollowsOtherProcesses(t *testing.T) {
	t.Parallel()
	url := migratedURL(t)
	writer, reader := open(t, testConfig(t, url)), open(t, testConfig(t, url))
	reader.pollInterval = time.Hour
	ctx := testContext(t)

	got := make(chan string, 10)
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = reader.Feed().Watch(watchCtx, 0, func(e changelog.Entry) error { got <- e.Key; return nil })
	}()
	write := func(key string) {
		t.Helper()
		err := writer.WriteTx(ctx, func(_ context.Context, _ pgx.Tx, log changelog.Appender) error {
			log.Append(changelog.Entry{Topic: "item", Key: key, Op: changelog.OpUpsert})
			return nil
		})
		if err != nil {
			t.Fatalf("WriteTx() = %v", err)
		}
	}
	receive := func(want string) {
		t.Helper()
		select {
		case k := <-got:
			if k != want {
				t.Fatalf("watched %s, want %s", k, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not arrive within 5s", want)
		}
	}
	// Whether or not the watcher listens yet, "first" arrives: the listener wakes everyone
	// once LISTEN is in place. "third" can only arrive through a NOTIFY.
	write("first")
	receive("first")

	// "first" may have come through the initial read, before the listener issued LISTEN:
	// wait until it has, then cut its connection.
	var killed int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := writer.Pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed)
		if err != nil {
			t.Fatalf("terminate LISTEN connections: %v", err)
		}
		if killed > 0 || time.Now().After(deadline) {
			break
		}
	}
	if killed != 1 {
		t.Fatalf("terminated %d LISTEN connections, want 1", killed)
	}
	write("second") // may be sent while nobody listens: the reconnect wakes the watcher
	receive("second")
	write("third")
	receive("third")

	// Generation counts the other process's commits too, through the same NOTIFYs.
	g := reader.Feed().Generation()
	write("fourth")
	receive("fourth")
	if g2 := reader.Feed().Generation(); g2 <= g {
		t.Fatalf("Generation() = %d after another process's commit arrived, %d before", g2, g)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	countVersions := func(t *testing.T, ctx context.Context, conn *pgx.Conn) map[string][]int64 {
		t.Helper()
		out := map[string][]int64{}
		for _, table := range []string{changelogVersionTable, serviceVersionTable} {
			rows, err := conn.Query(ctx, "SELECT version_id FROM "+testSchema+"."+table+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			if out[table], err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	want := map[string][]int64{changelogVersionTable: {0, 1}, serviceVersionTable: {0, 1, 2}}
	tests := []struct {
		name       string
		migrators  int
		rounds     int
		extraCheck func(t *testing.T, ctx context.Context, url string)
	}{
		{"migrating twice is a no-op", 1, 2, nil},
		{"concurrent migrators take turns", 4, 1, nil},
		{"Open migrates an empty database and is then ready", 1, 0, func(t *testing.T, ctx context.Context, url string) {
			if err := open(t, testConfig(t, url)).Ready(ctx); err != nil {
				t.Fatalf("Ready() = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := pgtest.NewDatabase(t)
			ctx := testContext(t)
			for range tt.rounds {
				var wg sync.WaitGroup
				errs := make([]error, tt.migrators)
				for i := range tt.migrators {
					wg.Go(func() { errs[i] = Migrate(ctx, testConfig(t, url)) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("Migrate() = %v", err)
				}
			}
			if tt.extraCheck != nil {
				tt.extraCheck(t, ctx, url)
			}
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if got := countVersions(t, ctx, conn); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("versions = %v, want %v", got, want)
			}
		})
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		breakSQL string // SQL that breaks readiness
	}{
		{"a schema behind the service's latest migration is not ready", "DELETE FROM goose_db_version WHERE version_id = 2"},
		{"a schema behind the change log's migration is not ready", "DELETE FROM ponte_changelog_version WHERE version_id = 1"},
		{"a missing version table is not ready", "DROP TABLE goose_db_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			ctx := testContext(t)
			if err := db.Ready(ctx); err != nil {
				t.Fatalf("Ready() of a migrated database = %v", err)
			}
			if _, err := db.Pool.Exec(ctx, tt.breakSQL); err != nil {
				t.Fatal(err)
			}
			if err := db.Ready(ctx); err == nil {
				t.Fatal("Ready() = nil, want an error")
			}
		})
	}
	t.Run("a closed database is not ready", func(t *testing.T) {
		t.Parallel()
		db, err := Open(testContext(t), testConfig(t, migratedURL(t)))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := db.Ready(testContext(t)); err == nil {
			t.Fatal("Ready() = nil after Close")
		}
	})
}

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	url := "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"a missing URL", Config{Schema: "items"}, "no URL"},
		{"a schema with capitals", Config{URL: url, Schema: "Items"}, "schema"},
		{"a schema with a quote", Config{URL: url, Schema: `items"; DROP`}, "schema"},
		{"a reserved schema", Config{URL: url, Schema: "pg_items"}, "schema"},
		{"an empty schema", Config{URL: url}, "schema"},
		{"an unknown exec mode", Config{URL: url, Schema: "items", QueryExecMode: "pipelined"}, "exec mode"},
		{"an unreachable server", Config{URL: url, Schema: "items"}, "open postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(testContext(t), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	t.Run("a broken service migration fails Open and leaves no half-applied version", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		cfg := Config{URL: url, Schema: "broken", Migrations: fstest.MapFS{
			"00001_ok.sql":     {Data: []byte("-- +goose Up\nCREATE TABLE ok (id int);\n")},
			"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE broken (id nosuchtype);\n")},
		}}
		if _, err := Open(testContext(t), cfg); err == nil || !strings.Contains(err.Error(), "service migrations") {
			t.Fatalf("Open() = %v, want a service migration error", err)
		}
		conn, err := pgx.Connect(testContext(t), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var max int64
		if err := conn.QueryRow(testContext(t), "SELECT max(version_id) FROM broken.goose_db_version").Scan(&max); err != nil || max != 1 {
			t.Fatalf("service schema at version %d (%v), want 1", max, err)
		}
	})
}

func TestTracingRecordsStatementsWithoutArguments(t *testing.T) {
	t.Parallel()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg := testConfig(t, migratedURL(t))
	cfg.TracerProvider = tp
	db := open(t, cfg)
	// otelpgx only records statements inside a request's span, never orphan ones.
	ctx, request := tp.Tracer("test").Start(testContext(t), "request")
	const secret = "Maria Rossi RSSMRA80A41H501U"
	err := db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		_, err := tx.Exec(ctx, "INSERT INTO items (id, name) VALUES ($1, $2)", "p1", secret)
		log.Append(changelog.Entry{Topic: "person", Key: secret, Op: changelog.OpUpsert, Payload: []byte(secret)})
		return err
	})
	request.End()
	if err != nil {
		t.Fatal(err)
	}
	spans := exporter.GetSpans()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
		if strings.Contains(s.Name, secret) {
			t.Errorf("span name %q carries an argument", s.Name)
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.Emit(), "RSSMRA") {
				t.Errorf("span %q attribute %s carries an argument value", s.Name, a.Key)
			}
		}
	}
	t.Logf("spans: %v", names)
	if !slices.Contains(names, "INSERT") {
		t.Fatalf("span names %v, want an INSERT span named after the operation", names)
	}
}

// BenchmarkWriteTx measures parallel write transactions that insert one row, with and
// without a change-log entry (the entry serializes commits on the log's advisory lock).
func BenchmarkWriteTx(b *testing.B) {
	for _, withEntry := range []bool{false, true} {
		b.Run(fmt.Sprintf("entry=%v", withEntry), func(b *testing.B) {
			db := newDB(b)
			ctx := testContext(b)
			var n atomic.Int64
			b.SetParallelism(8) // 16 writers on 2 cores, like a busy service
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprint(n.Add(1))
					err := db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
						if _, err := tx.Exec(ctx, "INSERT INTO items (id, name) VALUES ($1, 'x')", id); err != nil {
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
