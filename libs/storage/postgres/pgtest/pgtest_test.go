package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// subprocessEnv makes the test binary run one helper test as a separate test run.
const subprocessEnv = "PGTEST_SUBPROCESS"

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var exists bool
	err := current.admin.QueryRow(ctxFor(t), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	return exists
}

func dbName(t *testing.T, url string) string {
	t.Helper()
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cc.Database
}

func TestNewDatabaseIsEmptyAndDroppedAfterTheTest(t *testing.T) {
	if os.Getenv(subprocessEnv) != "" {
		return
	}
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		url := NewDatabase(t)
		name = dbName(t, url)
		if !strings.HasPrefix(name, "ponte_test_"+current.id+"_") {
			t.Fatalf("database %q is not named after this run", name)
		}
		conn, err := pgx.Connect(ctxFor(t), url)
		if err != nil {
			t.Fatalf("connect to the new database: %v", err)
		}
		defer conn.Close(context.Background())
		var tables int
		if err := conn.QueryRow(ctxFor(t), "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&tables); err != nil || tables != 0 {
			t.Fatalf("new database has %d tables (%v), want 0", tables, err)
		}
		if other := NewDatabase(t); other == url {
			t.Fatal("two calls returned the same database")
		}
	})
	if databaseExists(t, name) {
		t.Fatalf("database %s still exists after its test", name)
	}
}

func TestNewMigratedDatabaseMigratesOnceAndClonesPerTest(t *testing.T) {
	if os.Getenv(subprocessEnv) != "" {
		return
	}
	t.Parallel()
	var migrations atomic.Int32
	name := fmt.Sprintf("pgtest self %d", time.Now().UnixNano()) // a new template under -count=N
	migrate := func(ctx context.Context, url string) error {
		migrations.Add(1)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE notes (id text PRIMARY KEY)")
		return err
	}
	t.Run("clones", func(t *testing.T) {
		for i := range 6 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				url := NewMigratedDatabase(t, name, migrate)
				conn, err := pgx.Connect(ctxFor(t), url)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				// Each clone starts from the migrated, empty template: no other clone's rows.
				if _, err := conn.Exec(ctxFor(t), "INSERT INTO notes VALUES ('only-one')"); err != nil {
					t.Fatalf("insert into the migrated table: %v", err)
				}
			})
		}
	})
	if n := migrations.Load(); n != 1 {
		t.Fatalf("migrate ran %d times, want once", n)
	}
}

func TestAFailedMigrationFailsTheTest(t *testing.T) {
	if os.Getenv(subprocessEnv) != "failing-migration" {
		if os.Getenv(subprocessEnv) != "" {
			return
		}
		t.Parallel()
		out, err := runSubprocess(t, "TestAFailedMigrationFailsTheTest", "failing-migration", nil)
		if err == nil || !strings.Contains(out, `template "broken": migrate: no migrations today`) {
			t.Fatalf("subprocess: %v\n%s", err, out)
		}
		return
	}
	NewMigratedDatabase(t, "broken", func(context.Context, string) error { return fmt.Errorf("no migrations today") })
}

// TestUnreachableServer runs the test binary against a closed port: the test skips
// locally and fails in CI.
func TestUnreachableServer(t *testing.T) {
	switch os.Getenv(subprocessEnv) {
	case "":
	case "unreachable":
		NewDatabase(t)
		t.Fatal("NewDatabase returned without a server")
	default:
		return
	}
	t.Parallel()
	closed := []string{EnvURL + "=postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"}
	tests := []struct {
		name    string
		ci      string
		wantErr bool
		want    string
	}{
		{"outside CI the test is skipped", "", false, "SKIP"},
		{"in CI the test fails", "true", true, "must not skip in CI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := runSubprocess(t, "TestUnreachableServer", "unreachable", append(closed, "CI="+tt.ci))
			if (err != nil) != tt.wantErr || !strings.Contains(out, tt.want) {
				t.Fatalf("subprocess (err %v) printed:\n%s\nwant %q", err, out, tt.want)
			}
		})
	}
}

// TestExitedRunsAreCleanedUp leaves a database of a run that no process holds and one of
// this (live) run, then starts a second test binary: it must drop the first and keep the second.
func TestExitedRunsAreCleanedUp(t *testing.T) {
	switch os.Getenv(subprocessEnv) {
	case "":
	case "clean":
		NewDatabase(t) // sets the run up, which cleans
		return
	default:
		return
	}
	t.Parallel()
	NewDatabase(t) // make sure this run is set up
	ctx := ctxFor(t)
	orphan := "ponte_test_0badc0de_leftover"
	mine := "ponte_test_" + current.id + "_manual"
	for _, name := range []string{orphan, mine} {
		if _, err := current.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = current.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	if out, err := runSubprocess(t, "TestExitedRunsAreCleanedUp", "clean", nil); err != nil {
		t.Fatalf("subprocess: %v\n%s", err, out)
	}
	if databaseExists(t, orphan) {
		t.Errorf("%s of an exited run survived", orphan)
	}
	if !databaseExists(t, mine) {
		t.Errorf("%s of a live run was dropped", mine)
	}
}

func runSubprocess(t *testing.T, test, mode string, env []string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctxFor(t), os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), subprocessEnv+"="+mode), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
