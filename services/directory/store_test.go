package directory_test

import (
	"testing"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/directory"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/storetest"
)

// TestStoreConformance runs the directory's conformance suite on both stores, opened
// as the server opens them.
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	storagetest.Both(t, directory.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := directory.OpenStore(t.Context(), newConfig(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
