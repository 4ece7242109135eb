package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/ponte-network/ponte/services/directory/store"
)

// BenchSize is the number of services Bench loads.
const BenchSize = 10000

// Bench measures SearchServices on a store holding BenchSize services spread over 100
// locations in two provinces and 30 taxonomy terms: a text query, a taxonomy and
// territory filter, and no filter (every service, the worst case).
func Bench(b *testing.B, s store.Store) {
	ctx := context.Background()
	load := func(r store.Record) {
		if _, err := s.CreateRecord(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	load(org("org", "019035", "019", "03"))
	for i := range 100 {
		if i%2 == 0 {
			load(loc(fmt.Sprintf("loc-%03d", i), "org", "019035", "019", "03"))
		} else {
			load(loc(fmt.Sprintf("loc-%03d", i), "org", "023083", "023", "05"))
		}
	}
	for i := range 30 {
		load(term(fmt.Sprintf("term-%02d", i), fmt.Sprintf("servizio %d\nservice %d\ncours %d", i, i, i), ""))
	}
	for i := range BenchSize {
		text := fmt.Sprintf("servizio numero %d per il territorio", i)
		if i%50 == 0 {
			text += " corso di italiano"
		}
		load(service(fmt.Sprintf("svc-%06d", i), "org", text, []string{"it", "en"}, []string{"adults"},
			[]string{fmt.Sprintf("term-%02d", i%30)}, []string{fmt.Sprintf("loc-%03d", i%100)}))
	}
	cases := []struct {
		name string
		f    store.SearchFilter
	}{
		{"text", store.SearchFilter{Words: []string{"italiano", "corso"}}},
		{"taxonomy+territory", store.SearchFilter{TaxonomyTermIDs: []string{"term-07"}, Provinces: []string{"019"}}},
		{"everything", store.SearchFilter{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.SearchServices(ctx, c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
