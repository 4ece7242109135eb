package mediators

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// caller is the authenticated caller and what they reach (see the package doc).
type caller struct {
	p     *auth.Principal
	actor store.Actor
	admin bool
	// District staff: district codes and ISTAT municipality prefixes they reach.
	districtAdmin, districtStaff bool
	districts, prefixes          []string
	// Requesting organization (partner roles).
	org string
	// Mediator id (role mediator).
	mediator string
}

func (s *server) who(ctx context.Context) (caller, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return caller{}, grpcerr.PermissionDenied("mediators need an authenticated caller")
	}
	method, _ := grpc.Method(ctx)
	c := caller{p: p, actor: store.Actor{Subject: p.Subject, Organization: p.Organization, Method: method}}
	if p.HasRole(auth.RoleAdmin) {
		c.admin = true
		return c, nil
	}
	reaches := false
	if p.HasRole(auth.RoleDistrictAdmin, auth.RoleDistrictOperator) && p.Territory != "" {
		c.districtStaff, c.districtAdmin = true, p.HasRole(auth.RoleDistrictAdmin)
		c.districts, c.prefixes = s.territoryReach(p.Territory)
		reaches = true
	}
	if p.HasRole(auth.RolePartnerAdmin, auth.RolePartnerOperator) && p.Organization != "" {
		c.org = p.Organization
		reaches = true
	}
	if p.HasRole(auth.RoleMediator) && p.Subject != "" {
		c.mediator = p.Subject
		reaches = true
	}
	if !reaches {
		return caller{}, grpcerr.PermissionDenied("your roles give access to no mediator and no booking")
	}
	return c, nil
}

// territoryReach is a district code, or the municipality prefixes of an ISTAT code.
func (s *server) territoryReach(code string) (districts, prefixes []string) {
	level, istat := s.deps.Catalog.LevelOf(code)
	if !istat {
		return []string{code}, nil
	}
	if level == territory.LevelRegion {
		for _, p := range s.deps.Catalog.Provinces() {
			if p.RegionCode == code {
				prefixes = append(prefixes, p.Code)
			}
		}
		if len(prefixes) == 0 {
			prefixes = []string{"-"}
		}
		return nil, prefixes
	}
	return nil, []string{code}
}

// coversPlace reports whether district staff reach a booking at district/municipality.
func (c caller) coversPlace(district, municipality string) bool {
	if slices.Contains(c.districts, district) {
		return true
	}
	for _, p := range c.prefixes {
		if strings.HasPrefix(municipality, p) {
			return true
		}
	}
	return false
}

// servesOurDistrict reports whether a mediator serves one of the staff's districts.
func (c caller) servesOurDistrict(m *mediatorsv1.Mediator) bool {
	for _, d := range m.GetDistrictCodes() {
		if slices.Contains(c.districts, d) {
			return true
		}
	}
	return false
}

// managesMediator: admin, or district_admin of a district the mediator serves.
func (c caller) managesMediator(m *mediatorsv1.Mediator) bool {
	return c.admin || c.districtAdmin && c.servesOurDistrict(m)
}

// seesMediator: anyone who reaches the register sees a mediator's public entry.
func (c caller) seesMediator(m *mediatorsv1.Mediator) bool {
	return c.admin || c.districtStaff || c.org != "" || c.mediator == m.GetId()
}

// redact removes what the caller may not see: tax codes for all but admin and the
// district_admins of the mediator; contacts for all but those and district staff and
// the mediator; rate cards and calendar-related data for requesters. It reports
// whether personal data remains (so the read is audited).
func (c caller) redact(m *mediatorsv1.Mediator) bool {
	full := c.admin || c.districtAdmin && c.servesOurDistrict(m)
	contacts := full || c.districtStaff && c.servesOurDistrict(m) || c.mediator == m.GetId()
	if !full {
		m.TaxCode = ""
	}
	if !contacts {
		m.Email, m.Phone = "", ""
		m.RateCards, m.Absences = nil, nil
	}
	return m.GetTaxCode() != "" || m.GetEmail() != "" || m.GetPhone() != ""
}

// seesBooking reports whether the caller reaches a booking.
func (c caller) seesBooking(b *mediatorsv1.Booking) bool {
	return c.admin ||
		c.districtStaff && c.coversPlace(b.GetDistrictCode(), b.GetMunicipalityCode()) ||
		c.org != "" && b.GetRequestingOrganizationId() == c.org ||
		c.mediator != "" && b.GetMediatorId() == c.mediator
}

// staffFor reports whether the caller manages a booking as coordinator.
func (c caller) staffFor(b *mediatorsv1.Booking) bool {
	return c.admin || c.districtStaff && c.coversPlace(b.GetDistrictCode(), b.GetMunicipalityCode())
}

// requesterOf reports whether the caller's organization requested the booking.
func (c caller) requesterOf(b *mediatorsv1.Booking) bool {
	return c.org != "" && b.GetRequestingOrganizationId() == c.org
}

// mediatorOf reports whether the caller is the booking's mediator.
func (c caller) mediatorOf(b *mediatorsv1.Booking) bool {
	return c.mediator != "" && b.GetMediatorId() == c.mediator
}

// bookingFilter is the reach of the caller as a store filter.
func (c caller) bookingFilter() store.BookingFilter {
	if c.admin {
		return store.BookingFilter{}
	}
	if c.mediator != "" && !c.districtStaff && c.org == "" {
		return store.BookingFilter{MediatorID: c.mediator}
	}
	f := store.BookingFilter{RequestingOrgs: []string{}, Districts: c.districts, Municipalities: c.prefixes}
	if c.org != "" {
		f.RequestingOrgs = []string{c.org}
	}
	if f.Districts == nil {
		f.Districts = []string{}
	}
	return f
}
