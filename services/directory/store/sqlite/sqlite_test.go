package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/sqlite"
	"github.com/ponte-network/ponte/services/directory/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config(filepath.Join(t.TempDir(), "directory.db")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
