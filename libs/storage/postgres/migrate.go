package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

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
	if _, err := migrate(ctx, cfg, true); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

// migrate applies the migrations; with grant, it then grants cfg.ServeRole its
// privileges (ponte migrate, as the owner; serving never grants).
func migrate(ctx context.Context, cfg Config, grant bool) (_ versions, err error) {
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
	// Created only when missing: a serving role may not create schemas, even with IF
	// NOT EXISTS, and needs not when the owner migrated already.
	var exists bool
	if err := lock.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", cfg.Schema).Scan(&exists); err != nil {
		return versions{}, fmt.Errorf("look up schema %s: %w", cfg.Schema, err)
	}
	if !exists {
		if _, err := lock.ExecContext(ctx, "CREATE SCHEMA "+cfg.Schema); err != nil {
			return versions{}, fmt.Errorf("create schema %s: %w", cfg.Schema, err)
		}
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
	if grant && cfg.ServeRole != "" {
		if err := grantServe(ctx, lock, cfg); err != nil {
			return versions{}, err
		}
	}
	return v, nil
}

// roleName keeps role names to plain identifiers.
var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// grantServe gives cfg.ServeRole what serving needs in cfg.Schema and no more (see
// Config.ServeRole). It runs after every migration, so tables added later are granted.
func grantServe(ctx context.Context, conn *sql.Conn, cfg Config) error {
	if !roleName.MatchString(cfg.ServeRole) {
		return fmt.Errorf("serving role %q: want a lower-case identifier", cfg.ServeRole)
	}
	role, schema := cfg.ServeRole, cfg.Schema
	stmts := []string{
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role,
		"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA " + schema + " FROM " + role,
		"REVOKE INSERT, UPDATE, DELETE ON " + schema + "." + serviceVersionTable + ", " + schema + "." + changelogVersionTable + " FROM " + role,
	}
	for _, t := range cfg.AppendOnly {
		if !schemaName.MatchString(t) {
			return fmt.Errorf("append-only table %q: want a lower-case identifier", t)
		}
		stmts = append(stmts, "REVOKE UPDATE, DELETE ON "+schema+"."+t+" FROM "+role)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("grant serving role %s on schema %s: %w", role, schema, err)
		}
	}
	return nil
}
