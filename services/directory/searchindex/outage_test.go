package searchindex_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/services/directory/searchindex"
	"github.com/ponte-network/ponte/services/directory/store"
)

// TestTheIndexAnswersWhileTheStoreIsDownAndCatchesUpAfter stops the PostgreSQL server
// under a built index: reads through Current keep answering from the index, marked stale,
// and once the server is back the index catches up by itself.
func TestTheIndexAnswersWhileTheStoreIsDownAndCatchesUpAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster := pgtest.StartCluster(t)
	s := openPostgres(t, cluster.URL())
	fixture(t, s)
	if _, err := s.CreateDistrict(ctx, store.District{Code: "cremasco", Name: "Cremasco", RegionCode: "03", Municipalities: []string{"019035"}}); err != nil {
		t.Fatal(err)
	}
	x := searchindex.New(s, catalog(t))
	if stale, err := x.Current(ctx); err != nil || stale != 0 {
		t.Fatalf("Current with the store up = %v, %v; want 0, nil", stale, err)
	}
	italian, _ := x.Analyzer().Query("italiano")
	before := hitIDs(x.Search(searchindex.Query{Tokens: italian}))

	cluster.Stop("fast")
	time.Sleep(1100 * time.Millisecond) // past maxLag: the next read goes to the store
	if err := x.Sync(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Sync with the store down = %v, want storage.ErrUnavailable", err)
	}
	for range 3 {
		stale, err := x.Current(ctx)
		if err != nil || stale < time.Second {
			t.Fatalf("Current with the store down = %v, %v; want the index's age (over 1 s), nil", stale, err)
		}
		if got := hitIDs(x.Search(searchindex.Query{Tokens: italian})); !reflect.DeepEqual(got, before) {
			t.Errorf("search with the store down = %v, want %v as before", got, before)
		}
		if d, ok := x.District("cremasco"); !ok || d.Municipalities[0] != "019035" {
			t.Errorf("district with the store down = %+v, %v; want cremasco as it was", d, ok)
		}
	}
	if x.Stale() == 0 {
		t.Error("Stale() = 0 with the store down, want the index's age")
	}

	cluster.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.CreateRecord(ctx, record(t, store.KindService, "s-after", "org", &directoryv1.Service{Id: "s-after", Name: it("Italiano dopo il ritorno")}))
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("a write after the restart = %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		stale, err := x.Current(ctx)
		got := hitIDs(x.Search(searchindex.Query{Tokens: italian}))
		if err == nil && stale == 0 && len(got) == len(before)+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: Current = %v, %v, search = %v; want 0, nil and s-after found", stale, err, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAnIndexNeverBuiltReportsTheOutage: with nothing to answer from, Current fails as
// Sync does, UNAVAILABLE.
func TestAnIndexNeverBuiltReportsTheOutage(t *testing.T) {
	t.Parallel()
	cluster := pgtest.StartCluster(t)
	s := openPostgres(t, cluster.URL())
	x := searchindex.New(s, catalog(t))
	cluster.Stop("immediate")
	if _, err := x.Current(context.Background()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Current of an index never built, store down = %v, want storage.ErrUnavailable", err)
	}
}
