package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/services/directory/store"
)

// owner is what decides who may write a record: its organization and the
// municipalities it lies in.
type owner struct {
	organization   string
	municipalities []string
}

// mayWrite checks that the caller may write a record owned as o: admins anything; the
// owning organization's partner_admin and partner_operator; district and region admins
// when every municipality of the record lies within their territory.
func (s *directoryServer) mayWrite(ctx context.Context, o owner) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return grpcerr.PermissionDenied("writing the directory needs an authenticated caller")
	}
	if p.HasRole(auth.RoleAdmin) {
		return nil
	}
	if o.organization != "" && p.Organization == o.organization && p.HasRole(auth.RolePartnerAdmin, auth.RolePartnerOperator) {
		return nil
	}
	if p.HasRole(auth.RoleDistrictAdmin, auth.RoleRegionAdmin) && p.Territory != "" && len(o.municipalities) > 0 {
		inside, err := s.insideTerritory(ctx, p.Territory)
		if err != nil {
			return err
		}
		all := true
		for _, m := range o.municipalities {
			all = all && inside(m)
		}
		if all {
			return nil
		}
	}
	return grpcerr.PermissionDenied(fmt.Sprintf("you may not write records of organization %q in this territory", o.organization))
}

// insideTerritory returns the test of a municipality lying within territory (an ISTAT
// code or a district).
func (s *directoryServer) insideTerritory(ctx context.Context, code string) (func(string) bool, error) {
	if _, istat := s.catalog.LevelOf(code); istat {
		return func(m string) bool { return s.catalog.Within(m, code) }, nil
	}
	d, err := s.store.GetDistrict(ctx, code)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, grpcerr.From(err)
	}
	return func(m string) bool { return slices.Contains(d.Municipalities, m) }, nil
}

// organizationOwner returns the owner of the organization id as stored; an
// organization not (yet) stored is owned by itself, with no municipality.
func (s *directoryServer) organizationOwner(ctx context.Context, id string) (owner, error) {
	o := owner{organization: id}
	r, err := s.store.GetRecord(ctx, store.KindOrganization, id)
	switch {
	case isNotFound(err):
		return o, nil
	case err != nil:
		return o, grpcerr.From(err)
	}
	if r.Municipality != "" {
		o.municipalities = []string{r.Municipality}
	}
	return o, nil
}

func (s *directoryServer) authorizeOrganization(ctx context.Context, before, after *directoryv1.Organization) error {
	for _, o := range []*directoryv1.Organization{before, after} {
		if o == nil {
			continue
		}
		own := owner{organization: o.GetId()}
		if o.GetMunicipalityCode() != "" {
			own.municipalities = []string{o.GetMunicipalityCode()}
		}
		if err := s.mayWrite(ctx, own); err != nil {
			return err
		}
	}
	return nil
}

func (s *directoryServer) authorizeLocation(ctx context.Context, before, after *directoryv1.Location) error {
	for _, l := range []*directoryv1.Location{before, after} {
		if l == nil {
			continue
		}
		if err := s.mayWrite(ctx, owner{organization: l.GetOrganizationId(), municipalities: []string{l.GetMunicipalityCode()}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *directoryServer) authorizeService(ctx context.Context, before, after *directoryv1.Service) error {
	for _, sv := range []*directoryv1.Service{before, after} {
		if sv == nil {
			continue
		}
		own, err := s.serviceOwner(ctx, sv)
		if err != nil {
			return err
		}
		if err := s.mayWrite(ctx, own); err != nil {
			return err
		}
	}
	return nil
}

// serviceOwner: the service's organization, and the municipalities of its locations (of
// its organization's seat when it has none).
func (s *directoryServer) serviceOwner(ctx context.Context, sv *directoryv1.Service) (owner, error) {
	var ids []string
	for _, sal := range sv.GetServiceAtLocations() {
		ids = append(ids, sal.GetLocationId())
	}
	if len(ids) == 0 {
		return s.organizationOwner(ctx, sv.GetOrganizationId())
	}
	locs, err := s.store.GetRecords(ctx, store.KindLocation, ids)
	if err != nil {
		return owner{}, grpcerr.From(err)
	}
	own := owner{organization: sv.GetOrganizationId()}
	for _, l := range locs {
		own.municipalities = append(own.municipalities, l.Municipality)
	}
	return own, nil
}

func (s *directoryServer) authorizeTerm(ctx context.Context, before, after *directoryv1.TaxonomyTerm) error {
	for _, t := range []*directoryv1.TaxonomyTerm{before, after} {
		if t == nil {
			continue
		}
		if t.GetOrganizationId() == "" {
			p, _ := auth.FromContext(ctx)
			if !p.HasRole(auth.RoleAdmin) {
				return grpcerr.PermissionDenied("only platform admins may write built-in taxonomy terms (those with no organization_id)")
			}
			continue
		}
		own, err := s.organizationOwner(ctx, t.GetOrganizationId())
		if err != nil {
			return err
		}
		if err := s.mayWrite(ctx, own); err != nil {
			return err
		}
	}
	return nil
}
