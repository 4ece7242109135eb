package sqlcore_test

import (
	"testing"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/housing/store"
	"github.com/ponte-network/ponte/services/housing/store/sqlcore"
	"github.com/ponte-network/ponte/services/housing/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := sqlcore.Open(t.Context(), newConfig(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}
