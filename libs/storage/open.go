package storage

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/libs/storage/sqlite"
)

// Migrations are one service's schema on both backends: the goose SQL files each
// dialect applies (files at the FS root: 00001_init.sql ...) and the PostgreSQL schema
// the service's tables live in.
type Migrations struct {
	Schema   string // PostgreSQL schema, e.g. "cases"; a lower-case identifier
	Postgres fs.FS  // PostgreSQL migrations; may be nil
	SQLite   fs.FS  // SQLite migrations; may be nil
	// AppendOnly are the tables the serving role may only read and append to on
	// PostgreSQL (an audit trail); see Config.ServeRole.
	AppendOnly []string
}

// EmbeddedMigrations are the migrations of schema kept, as a service embeds them, in
// files under dir/postgres and dir/sqlite (e.g. //go:embed migrations, dir "migrations").
// It panics when dir is not a valid path (a programming error, caught by any test that
// opens the store); a missing directory gives no migrations for that dialect.
func EmbeddedMigrations(schema string, files fs.FS, dir string) Migrations {
	return Migrations{Schema: schema, Postgres: subFS(files, dir+"/postgres"), SQLite: subFS(files, dir+"/sqlite")}
}

func subFS(files fs.FS, dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("storage: embedded migrations %s: %v", dir, err))
	}
	return f
}

// Backends are the two ways a service opens its store: on PostgreSQL and on the
// embedded store. Services on package sqlstore never write them (sqlstore.Open does);
// a service with two store implementations (the directory) names its own.
type Backends[S any] struct {
	Postgres func(ctx context.Context, cfg postgres.Config) (S, error)
	SQLite   func(ctx context.Context, cfg sqlite.Config) (S, error)
}

// Open opens a service's store where cfg says — PostgreSQL, or the embedded store when
// no database URL is given — applying m's migrations first.
func Open[S any](ctx context.Context, cfg Config, m Migrations, b Backends[S]) (S, error) {
	var zero S
	if !cfg.Embedded() {
		s, err := b.Postgres(ctx, cfg.Postgres(postgres.Config{Schema: m.Schema, Migrations: m.Postgres, AppendOnly: m.AppendOnly}))
		if err != nil {
			return zero, fmt.Errorf("%s store: %w", m.Schema, err)
		}
		return s, nil
	}
	if cfg.SQLitePath == "" {
		return zero, fmt.Errorf("%s store: neither a database URL nor an embedded store path", m.Schema)
	}
	s, err := b.SQLite(ctx, cfg.SQLite(sqlite.Config{Migrations: m.SQLite}))
	if err != nil {
		return zero, fmt.Errorf("%s embedded store %s: %w", m.Schema, cfg.SQLitePath, err)
	}
	return s, nil
}

// Migrate applies m's migrations where cfg says, without opening a store to serve
// (ponte migrate); re-running it is a no-op.
func Migrate(ctx context.Context, cfg Config, m Migrations) error {
	if !cfg.Embedded() {
		if err := postgres.Migrate(ctx, cfg.Postgres(postgres.Config{Schema: m.Schema, Migrations: m.Postgres, AppendOnly: m.AppendOnly})); err != nil {
			return fmt.Errorf("%s store: %w", m.Schema, err)
		}
		return nil
	}
	if cfg.SQLitePath == "" {
		return fmt.Errorf("%s store: neither a database URL nor an embedded store path", m.Schema)
	}
	if err := sqlite.Migrate(ctx, cfg.SQLite(sqlite.Config{Migrations: m.SQLite})); err != nil {
		return fmt.Errorf("%s embedded store %s: %w", m.Schema, cfg.SQLitePath, err)
	}
	return nil
}
