// Package sqlcore is the reporting store written once for PostgreSQL and the embedded
// SQLite store, on the storage kit (libs/storage/sqlstore).
package sqlcore

import (
	"context"
	"embed"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
)

// Schema is the PostgreSQL schema the reporting service keeps its tables in.
const Schema = "reporting"

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the reporting service's schema on both databases.
func Migrations() storage.Migrations {
	return storage.EmbeddedMigrations(Schema, migrationFiles, "migrations")
}

// Open opens the reporting store where cfg says and applies its migrations.
func Open(ctx context.Context, cfg storage.Config) (*Core, error) {
	db, err := sqlstore.Open(ctx, cfg, Migrations())
	if err != nil {
		return nil, err
	}
	return &Core{db: db}, nil
}

// Migrate applies the reporting service's migrations where cfg says, without serving.
func Migrate(ctx context.Context, cfg storage.Config) error {
	return storage.Migrate(ctx, cfg, Migrations())
}
