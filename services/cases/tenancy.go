package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/services/cases/districts"
)

// snapshots fetches the current districts once, on first use, for one request.
type snapshots struct {
	ctx  context.Context
	src  districts.Source
	snap *districts.Snapshot
	err  error
	done bool
}

func (s *snapshots) get() (*districts.Snapshot, error) {
	if !s.done {
		s.snap, s.err = s.src.Current(s.ctx)
		s.done = true
	}
	return s.snap, s.err
}

// unavailable is the answer to a write that needs the districts while the copy is stale.
func unavailable(err error) error {
	if errors.Is(err, districts.ErrStale) {
		return status.Error(codes.Unavailable, err.Error()+": writes that place a case wait for it; retry later")
	}
	return status.Error(codes.Unavailable, "the districts are not known: retry later")
}

// place completes and checks where case k lies, for caller c; prev is the stored case
// of an update (nil on create). It returns the violated field, or an UNAVAILABLE error
// when the districts are needed and not known. The rules (package doc, "Tenancy"):
//   - district_code names an existing district containing the municipality; when empty,
//     it is derived: the one district containing the municipality, none if no district
//     does, and an error asking to name one if several do. An update that changes the
//     municipality but not the district derives the district again.
//   - organization_id is the caller's own, unless the caller is an admin or a
//     district_admin (whose reach the case must still lie in), and then it must name an
//     organization of the directory.
func (s *server) place(c caller, snaps *snapshots, k, prev *casesv1.Case) (*violation, error) {
	placeChanged := prev == nil || k.GetMunicipalityCode() != prev.GetMunicipalityCode() || k.GetDistrictCode() != prev.GetDistrictCode()
	if placeChanged {
		if prev != nil && k.GetDistrictCode() == prev.GetDistrictCode() {
			k.DistrictCode = "" // the municipality moved: derive its district again
		}
		snap, err := snaps.get()
		if err != nil {
			return nil, unavailable(err)
		}
		if k.DistrictCode != "" {
			if _, ok := snap.Municipalities(k.DistrictCode); !ok {
				return &violation{Field: "case.district_code", Description: fmt.Sprintf("the directory has no district %q", k.DistrictCode)}, nil
			}
			if !snap.Contains(k.DistrictCode, k.MunicipalityCode) {
				return &violation{Field: "case.district_code",
					Description: fmt.Sprintf("district %s does not contain municipality %s", k.DistrictCode, k.MunicipalityCode)}, nil
			}
		} else {
			switch ds := snap.Containing(k.MunicipalityCode); len(ds) {
			case 0: // a municipality no district groups: the case belongs to no district
			case 1:
				k.DistrictCode = ds[0]
			default:
				return &violation{Field: "case.district_code",
					Description: fmt.Sprintf("municipality %s lies in several districts (%s): name one", k.MunicipalityCode, strings.Join(ds, ", "))}, nil
			}
		}
	}
	if org := k.GetOrganizationId(); org != "" && org != c.p.Organization && (prev == nil || org != prev.GetOrganizationId()) {
		if !c.p.HasRole(auth.RoleAdmin, auth.RoleDistrictAdmin) {
			return &violation{Field: "case.organization_id", Description: "you may only give cases to your own organization", denied: true}, nil
		}
		snap, err := snaps.get()
		if err != nil {
			return nil, unavailable(err)
		}
		if !snap.Organization(org) {
			return &violation{Field: "case.organization_id", Description: fmt.Sprintf("the directory has no organization %q", org)}, nil
		}
	}
	return nil, nil
}

// placeErr is place for single writes: the violation as an InvalidArgument error.
func (s *server) placeErr(c caller, snaps *snapshots, k, prev *casesv1.Case) error {
	v, err := s.place(c, snaps, k, prev)
	if err != nil {
		return err
	}
	switch {
	case v == nil:
		return nil
	case v.denied:
		return grpcerr.PermissionDenied(v.Description)
	}
	return grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: v.Field, Description: v.Description})
}

// violation is why a case cannot be placed: an invalid field, or (denied) a place the
// caller may not give it.
type violation struct {
	Field, Description string
	denied             bool
}
