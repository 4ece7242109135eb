package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/ponte-network/ponte/libs/storage/migration"
)

// ownMigrations create this package's tables (the change log) in every service schema.
//
//go:embed migrations/*.sql
var ownMigrations embed.FS

// versions are the schema versions a DB needs to be ready.
type versions struct {
	changelog, service int64
}

// Migrate creates the schema if missing and applies this package's migrations, then the
// service's. Concurrent migrators (several processes starting at once) take turns; re-running
// is a no-op.
func Migrate(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	if _, err := migrate(ctx, cfg); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, cfg Config) (_ versions, err error) {
	cc, err := cfg.connConfig(cfg.urlOrDirect())
	if err != nil {
		return versions{}, err
	}
	db := stdlib.OpenDB(*cc)
	defer func() { err = errors.Join(err, db.Close()) }()

	// One session advisory lock per schema serializes migrators, including the CREATE
	// SCHEMA, which is not safe to race. Closing db ends the session, which also releases it.
	lock, err := db.Conn(ctx)
	if err != nil {
		return versions{}, fmt.Errorf("connect: %w", err)
	}
	defer func() { err = errors.Join(err, lock.Close()) }()
	lockKey := key("migrate", cfg.Schema)
	if _, err := lock.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return versions{}, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		_, unlockErr := lock.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
		err = errors.Join(err, unlockErr)
	}()
	if _, err := lock.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+cfg.Schema); err != nil {
		return versions{}, fmt.Errorf("create schema %s: %w", cfg.Schema, err)
	}

	own, err := fs.Sub(ownMigrations, "migrations")
	if err != nil {
		return versions{}, err
	}
	var v versions
	if v.changelog, err = migration.Up(ctx, goose.DialectPostgres, db, own, cfg.Schema+"."+changelogVersionTable); err != nil {
		return versions{}, fmt.Errorf("change log migrations: %w", err)
	}
	if cfg.Migrations != nil {
		if v.service, err = migration.Up(ctx, goose.DialectPostgres, db, cfg.Migrations, cfg.Schema+"."+serviceVersionTable); err != nil {
			return versions{}, fmt.Errorf("service migrations: %w", err)
		}
	}
	return v, nil
}
