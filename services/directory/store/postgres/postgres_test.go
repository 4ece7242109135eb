package postgres_test

import (
	"context"
	"testing"

	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/postgres"
	"github.com/ponte-network/ponte/services/directory/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		url := pgtest.NewDatabase(t)
		s, err := postgres.Open(context.Background(), postgres.Config(url))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
