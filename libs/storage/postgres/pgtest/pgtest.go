// Package pgtest gives each PostgreSQL test a database of its own: empty (NewDatabase) or
// cloned from a database migrated once per test binary (NewMigratedDatabase), and dropped
// when the test ends.
//
// The server is $PONTE_TEST_POSTGRES_URL (a postgres:// URL), by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; its user needs CREATEDB.
// When the server cannot be reached the test is skipped, except when $CI is "true":
// PostgreSQL tests never skip in CI.
//
// Databases are named ponte_test_<run>_<random> and templates ponte_tpl_<run>_<name>,
// where <run> identifies the test binary. Each test binary holds an advisory lock on its
// <run> for its whole life; when it starts, it drops the databases of runs whose lock is
// free, that is of test binaries that have exited (templates, which outlive their tests,
// and databases of binaries killed before their cleanup). So several test binaries
// (go test ./... runs packages in parallel) never touch each other's databases, and
// nothing accumulates on the server.
//
// Unlike the rest of Ponte this package keeps process-wide state (the run, its admin pool
// and the templates), because its caches must outlive a single test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the environment variable that points the tests at a server.
const EnvURL = "PONTE_TEST_POSTGRES_URL"

// DefaultURL is the server used when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const (
	lockClass    = 0x504f4e54 // "PONT": first key of pgtest's two-key advisory locks
	gcLockObject = 0          // second key of the lock that serializes clean-ups
	opTimeout    = 2 * time.Minute
)

var (
	namePattern  = regexp.MustCompile(`^ponte_(?:test|tpl)_([0-9a-f]{8})_`)
	unsafeInName = regexp.MustCompile(`[^a-z0-9_]+`)
)

// run is this test binary's connection to the server.
type run struct {
	id     string // 8 hex digits
	server *url.URL
	admin  *pgxpool.Pool
	keeper *pgx.Conn // holds the run's advisory lock until the process exits
	// unreachable is set when the server could not be reached (skip, or fail in CI).
	unreachable error

	mu        sync.Mutex
	templates map[string]*template
}

type template struct {
	once sync.Once
	name string
	err  error
}

var (
	setupOnce sync.Once
	current   *run
	setupErr  error
)

// connect returns this binary's run, setting it up on first use; it skips or fails t when
// the server is unreachable.
func connect(t testing.TB) *run {
	t.Helper()
	setupOnce.Do(func() { current, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	if current.unreachable != nil {
		msg := fmt.Sprintf("pgtest: PostgreSQL at %s is unreachable (set %s to point at a server): %v",
			current.server.Redacted(), EnvURL, current.unreachable)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; PostgreSQL tests must not skip in CI")
		}
		t.Skip(msg)
	}
	return current
}

func setup() (*run, error) {
	raw := os.Getenv(EnvURL)
	if raw == "" {
		raw = DefaultURL
	}
	server, err := url.Parse(raw)
	if err != nil || (server.Scheme != "postgres" && server.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	var idBytes [4]byte
	_, _ = rand.Read(idBytes[:])
	r := &run{id: hex.EncodeToString(idBytes[:]), server: server, templates: map[string]*template{}}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", EnvURL, err)
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 5 * time.Second
	}
	if r.keeper, err = pgx.ConnectConfig(ctx, cc); err != nil {
		r.unreachable = err
		return r, nil
	}
	// Taken before this run creates anything, held until the process exits.
	if _, err := r.keeper.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", lockClass, runObject(r.id)); err != nil {
		return nil, fmt.Errorf("lock run: %w", err)
	}
	pc, err := pgxpool.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", EnvURL, err)
	}
	pc.MaxConns = 4
	if r.admin, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("admin pool: %w", err)
	}
	if err := r.dropExited(ctx); err != nil {
		return nil, fmt.Errorf("drop databases of exited test runs: %w", err)
	}
	return r, nil
}

// runObject is the second advisory-lock key of a run.
func runObject(id string) int32 {
	b, _ := hex.DecodeString(id)
	return int32(binary.BigEndian.Uint32(b))
}

// dropExited drops the databases of test runs whose process has exited.
func (r *run) dropExited(ctx context.Context) (err error) {
	conn, err := r.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", lockClass, gcLockObject); err != nil {
		return err
	}
	defer func() {
		_, unlockErr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", lockClass, gcLockObject)
		err = errors.Join(err, unlockErr)
	}()
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname ~ '^ponte_(test|tpl)_[0-9a-f]{8}_' ORDER BY datname`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	byRun := map[string][]string{}
	for _, name := range names {
		if m := namePattern.FindStringSubmatch(name); m != nil && m[1] != r.id {
			byRun[m[1]] = append(byRun[m[1]], name)
		}
	}
	for id, dbs := range byRun {
		var free bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockClass, runObject(id)).Scan(&free); err != nil {
			return err
		}
		if !free {
			continue // that test binary is still running
		}
		for _, name := range dbs {
			if _, err := conn.Exec(ctx, dropDatabase(name)); err != nil {
				err = fmt.Errorf("drop %s: %w", name, err)
				_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", lockClass, runObject(id))
				return err
			}
		}
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", lockClass, runObject(id)); err != nil {
			return err
		}
	}
	return nil
}

// dropDatabase is the statement that drops database name, disconnecting its sessions.
func dropDatabase(name string) string { return "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)" }

// urlFor is the server URL with its database replaced by name.
func (r *run) urlFor(name string) string {
	u := *r.server
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func (r *run) newName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "ponte_test_" + r.id + "_" + hex.EncodeToString(b[:])
}

// create creates database name (from template, if not empty) and drops it when t ends.
func (r *run) create(t testing.TB, name, template string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if _, err := r.admin.Exec(ctx, stmt); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := r.admin.Exec(ctx, dropDatabase(name)); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
}

// NewDatabase creates a fresh, empty database for this test and drops it (WITH (FORCE)) in
// t.Cleanup; it returns the database's URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	r := connect(t)
	name := r.newName()
	r.create(t, name, "")
	return r.urlFor(name)
}

// NewMigratedDatabase returns the URL of a fresh database cloned (CREATE DATABASE ...
// TEMPLATE) from a template that migrate(ctx, templateURL) prepared once per test binary
// and name; the clone is dropped in t.Cleanup. name identifies the migrations: calls with
// the same name share the first call's template. migrate must close its connections
// before returning (a template cannot be cloned while in use); if it fails, every test
// asking for that template fails.
func NewMigratedDatabase(t testing.TB, name string, migrate func(ctx context.Context, url string) error) string {
	t.Helper()
	r := connect(t)
	tpl := r.template(name)
	tpl.once.Do(func() { tpl.err = r.prepare(tpl.name, migrate) })
	if tpl.err != nil {
		t.Fatalf("pgtest: template %q: %v", name, tpl.err)
	}
	db := r.newName()
	r.create(t, db, tpl.name)
	return r.urlFor(db)
}

func (r *run) template(name string) *template {
	r.mu.Lock()
	defer r.mu.Unlock()
	tpl, ok := r.templates[name]
	if !ok {
		suffix := strings.Trim(unsafeInName.ReplaceAllString(strings.ToLower(name), "_"), "_")
		if suffix == "" {
			suffix = "db"
		}
		// Keep the name under 63 bytes; a 4-byte random tail keeps truncated names apart.
		var b [2]byte
		_, _ = rand.Read(b[:])
		tpl = &template{name: fmt.Sprintf("ponte_tpl_%s_%.30s_%s", r.id, suffix, hex.EncodeToString(b[:]))}
		r.templates[name] = tpl
	}
	return tpl
}

// prepare creates and migrates a template; the run's lock keeps other binaries off it, and
// it is dropped by the first test binary that starts after this one exits.
func (r *run) prepare(name string, migrate func(ctx context.Context, url string) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := r.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := migrate(ctx, r.urlFor(name)); err != nil {
		_, dropErr := r.admin.Exec(context.WithoutCancel(ctx), dropDatabase(name))
		return errors.Join(fmt.Errorf("migrate: %w", err), dropErr)
	}
	return nil
}

// KeptDatabase returns the URL of database ponte_bench_<name>, creating it if it does not
// exist, and never drops it: for benchmarks whose data takes minutes to load, so that a
// second run reuses it. fresh drops and recreates it first. The caller checks what the
// database holds.
func KeptDatabase(t testing.TB, name string, fresh bool) string {
	t.Helper()
	r := connect(t)
	db := "ponte_bench_" + unsafeInName.ReplaceAllString(strings.ToLower(name), "_")
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if fresh {
		if _, err := r.admin.Exec(ctx, dropDatabase(db)); err != nil {
			t.Fatalf("pgtest: drop database %s: %v", db, err)
		}
	}
	var exists bool
	if err := r.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		t.Fatalf("pgtest: look for database %s: %v", db, err)
	}
	if !exists {
		if _, err := r.admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatalf("pgtest: create database %s: %v", db, err)
		}
	}
	return r.urlFor(db)
}
