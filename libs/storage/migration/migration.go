// Package migration applies a set of embedded goose SQL migrations, the one way both
// stores (PostgreSQL and SQLite) bring a schema up to date.
package migration

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// Up applies the pending migrations of fsys in the dialect given, recording versions in
// versionTable, and returns the latest version fsys holds. Re-running it is a no-op.
func Up(ctx context.Context, dialect goose.Dialect, db *sql.DB, fsys fs.FS, versionTable string) (int64, error) {
	p, err := goose.NewProvider(dialect, db, fsys,
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true), // only the SQL files given; no process-wide Go migrations
	)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	_, target, err := p.GetVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("migration versions: %w", err)
	}
	return target, nil
}
