package sqlcore

import (
	"context"
	"embed"
	"time"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
)

// Schema is the PostgreSQL schema the mediators service keeps its tables in.
const Schema = "mediators"

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the mediators service's schema on both databases.
func Migrations() storage.Migrations {
	m := storage.EmbeddedMigrations(Schema, migrationFiles, "migrations")
	m.AppendOnly = []string{"audit_events"}
	return m
}

// Open opens the mediators store where cfg says (PostgreSQL, or the embedded store when
// no database URL is given) and applies its migrations; loc is the time zone of dates
// and months (Europe/Rome).
func Open(ctx context.Context, cfg storage.Config, loc *time.Location) (*Core, error) {
	db, err := sqlstore.Open(ctx, cfg, Migrations())
	if err != nil {
		return nil, err
	}
	return New(db, loc), nil
}

// Migrate applies the mediators service's migrations where cfg says, without serving.
func Migrate(ctx context.Context, cfg storage.Config) error {
	return storage.Migrate(ctx, cfg, Migrations())
}
