package directory

import (
	"context"
	"errors"
	"fmt"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/directory/seed"
	"github.com/ponte-network/ponte/services/directory/store"
)

// SeedTaxonomy stores the built-in taxonomy of migrant-integration services (package
// seed: terms labelled in it, en, fr, ar, ro, es, uk, zh) under their stable ids. It only
// creates the terms that are missing, so that a platform admin's corrections to a
// built-in label survive restarts; it is safe to call at every start and from several
// processes at once.
func (s *Service) SeedTaxonomy(ctx context.Context) (created int, err error) {
	terms, err := seed.Taxonomy()
	if err != nil {
		return 0, err
	}
	ids := make(map[string]string, len(terms)) // code → id, for parents
	for _, t := range terms {
		ids[t.Code] = t.ID
	}
	for _, t := range terms { // parents come before their children
		term := &directoryv1.TaxonomyTerm{
			Id: t.ID, Code: t.Code, Name: t.Labels, Description: t.Descriptions,
			ParentId: ids[t.ParentCode], Taxonomy: seed.ServicesTaxonomyID,
		}
		r, err := s.directory.termRecord(term)
		if err != nil {
			return created, fmt.Errorf("built-in term %s: %w", t.Code, err)
		}
		_, err = s.store.CreateRecord(ctx, r)
		switch {
		case err == nil:
			created++
		case errors.Is(err, store.ErrAlreadyExists):
		default:
			return created, fmt.Errorf("store built-in term %s: %w", t.Code, err)
		}
	}
	return created, nil
}
