// Package storagetest runs a service's store tests on both backends: Both gives each
// test a fresh, migrated database — on PostgreSQL a clone of a template migrated once per
// test binary (pgtest.NewMigratedDatabase), on SQLite a new file — as the storage.Config
// the service's own OpenStore takes, so the code under test opens its store exactly as
// the server does.
//
// PostgreSQL tests follow pgtest: skipped when the server is unreachable, except when
// $CI is "true", where they fail instead.
package storagetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

// NewConfig returns the storage configuration of a fresh database for one test; the
// database is dropped (PostgreSQL) or removed (SQLite) when the test ends.
type NewConfig func(t testing.TB) storage.Config

// Both runs run twice, in parallel subtests named "postgres" and "sqlite", each with a
// NewConfig for that backend's fresh databases migrated with m.
func Both(t *testing.T, m storage.Migrations, run func(t *testing.T, newConfig NewConfig)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		run(t, func(t testing.TB) storage.Config { return Postgres(t, m) })
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		run(t, func(t testing.TB) storage.Config { return SQLite(t, m) })
	})
}

// Postgres returns the configuration of a fresh PostgreSQL database migrated with m,
// cloned from a template migrated once per test binary and m.Schema.
func Postgres(t testing.TB, m storage.Migrations) storage.Config {
	t.Helper()
	url := pgtest.NewMigratedDatabase(t, "storagetest-"+m.Schema, func(ctx context.Context, url string) error {
		return storage.Migrate(ctx, storage.Config{DatabaseURL: url}, m)
	})
	return storage.Config{DatabaseURL: url}
}

// SQLite returns the configuration of a new embedded store file in the test's temporary
// directory; it is migrated when the service opens it.
func SQLite(t testing.TB, m storage.Migrations) storage.Config {
	t.Helper()
	name := m.Schema
	if name == "" {
		name = "store"
	}
	return storage.Config{SQLitePath: filepath.Join(t.TempDir(), name+".db")}
}

// ServingRole migrates a fresh PostgreSQL database with m as its owner does in
// production (`ponte migrate --db-serve-role`, with a login role made for the test) and
// returns the configuration `ponte serve` runs with as that role, and the owner's URL.
func ServingRole(t testing.TB, m storage.Migrations) (serve storage.Config, ownerURL string) {
	t.Helper()
	ownerURL = pgtest.NewDatabase(t)
	role, roleURL := pgtest.ServeRole(t, ownerURL)
	if err := storage.Migrate(context.Background(), storage.Config{DatabaseURL: ownerURL, ServeRole: role}, m); err != nil {
		t.Fatalf("ponte migrate as the owner: %v", err)
	}
	return storage.Config{DatabaseURL: roleURL}, ownerURL
}
