package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/sqlite"
	"github.com/ponte-network/ponte/services/cases/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config(filepath.Join(t.TempDir(), "cases.db")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
