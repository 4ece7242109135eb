package app

import (
	"context"
	"fmt"

	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/services/cases"
	"github.com/ponte-network/ponte/services/directory"
)

// Migrate applies the migrations of every service with a store, on PostgreSQL when
// storage names a database URL, else on the embedded store. Re-running it is a no-op.
func Migrate(ctx context.Context, st config.Storage) error {
	if err := directory.MigrateStore(ctx, directory.StoreConfig{
		DatabaseURL: st.DatabaseURL, SQLitePath: st.SQLitePath("directory"), QueryExecMode: st.QueryExecMode,
	}); err != nil {
		return fmt.Errorf("migrate directory: %w", err)
	}
	if err := cases.MigrateStore(ctx, cases.StoreConfig{
		DatabaseURL: st.DatabaseURL, SQLitePath: st.SQLitePath("cases"), QueryExecMode: st.QueryExecMode,
	}); err != nil {
		return fmt.Errorf("migrate cases: %w", err)
	}
	return nil
}
