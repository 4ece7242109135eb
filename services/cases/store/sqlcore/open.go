package sqlcore

import (
	"context"
	"embed"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
)

// Schema is the PostgreSQL schema the cases service keeps its tables in.
const Schema = "cases"

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the cases service's schema on both databases.
func Migrations() storage.Migrations {
	m := storage.EmbeddedMigrations(Schema, migrationFiles, "migrations")
	m.AppendOnly = []string{"audit_events"}
	return m
}

// Open opens the cases store where cfg says (PostgreSQL, or the embedded store when no
// database URL is given) and applies its migrations.
func Open(ctx context.Context, cfg storage.Config) (*Core, error) {
	db, err := sqlstore.Open(ctx, cfg, Migrations())
	if err != nil {
		return nil, err
	}
	return New(db), nil
}

// Migrate applies the cases service's migrations where cfg says, without serving.
func Migrate(ctx context.Context, cfg storage.Config) error {
	return storage.Migrate(ctx, cfg, Migrations())
}

// DB is the database the store runs on (benchmarks reach PostgreSQL through it).
func (c *Core) DB() sqlstore.DB { return c.db }
