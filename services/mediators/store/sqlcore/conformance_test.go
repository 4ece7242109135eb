package sqlcore_test

import (
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/mediators/store"
	"github.com/ponte-network/ponte/services/mediators/store/sqlcore"
	"github.com/ponte-network/ponte/services/mediators/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := sqlcore.Open(t.Context(), newConfig(t), rome)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
