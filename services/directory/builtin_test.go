package directory_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory"
	"github.com/ponte-network/ponte/services/directory/seed"
	"github.com/ponte-network/ponte/services/directory/store"
)

func TestSeedTaxonomyCreatesMissingTermsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := directory.OpenStore(ctx, directory.StoreConfig{SQLitePath: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	catalog, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := directory.New(directory.Deps{Store: st, Catalog: catalog, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	terms, err := seed.Taxonomy()
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.SeedTaxonomy(ctx)
	if err != nil || created != len(terms) {
		t.Fatalf("first seed created %d (%v), want %d", created, err, len(terms))
	}
	head, _ := st.Changes().Head(ctx)
	again, err := svc.SeedTaxonomy(ctx)
	if err != nil || again != 0 {
		t.Fatalf("second seed created %d (%v), want 0", again, err)
	}
	if after, _ := st.Changes().Head(ctx); after != head {
		t.Errorf("re-seeding wrote %d change-log entries", after-head)
	}
	r, err := st.GetRecord(ctx, store.KindTaxonomyTerm, terms[len(terms)-1].ID)
	if err != nil {
		t.Fatalf("a built-in term is missing: %v", err)
	}
	if len(r.Doc) == 0 {
		t.Error("stored term has no document")
	}
}
