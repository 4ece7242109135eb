package app

import (
	"context"
	"fmt"

	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/services/cases"
	"github.com/ponte-network/ponte/services/directory"
	"github.com/ponte-network/ponte/services/housing"
	"github.com/ponte-network/ponte/services/mediators"
	"github.com/ponte-network/ponte/services/reporting"
)

// Migrate applies the migrations of every service with a store, on PostgreSQL when
// storage names a database URL, else on the embedded store. Re-running it is a no-op.
func Migrate(ctx context.Context, st config.Storage) error {
	if err := directory.MigrateStore(ctx, st.For("directory")); err != nil {
		return fmt.Errorf("migrate directory: %w", err)
	}
	if err := cases.MigrateStore(ctx, st.For("cases")); err != nil {
		return fmt.Errorf("migrate cases: %w", err)
	}
	if err := mediators.MigrateStore(ctx, st.For("mediators")); err != nil {
		return fmt.Errorf("migrate mediators: %w", err)
	}
	if err := housing.MigrateStore(ctx, st.For("housing")); err != nil {
		return fmt.Errorf("migrate housing: %w", err)
	}
	if err := reporting.MigrateStore(ctx, st.For("reporting")); err != nil {
		return fmt.Errorf("migrate reporting: %w", err)
	}
	return nil
}
