// Package auth authenticates gRPC callers by bearer token (JWT) and authorizes them per method
// with a deny-by-default Policy, putting the authenticated Principal in the request context.
package auth

import (
	"context"
	"slices"
)

// Role names carried in the token's "roles" claim.
const (
	// RoleAdmin is a platform administrator: passes every rule of every Policy.
	RoleAdmin = "admin"
	// RoleRegionAdmin administers a region's network (territory = region code).
	RoleRegionAdmin = "region_admin"
	// RoleRegionAnalyst reads indicators, never a person.
	RoleRegionAnalyst = "region_analyst"
	// RoleDistrictAdmin administers a district (territory = district, province or region code).
	RoleDistrictAdmin = "district_admin"
	// RoleDistrictOperator works the cases of a district.
	RoleDistrictOperator = "district_operator"
	// RolePartnerAdmin administers a local partner organization.
	RolePartnerAdmin = "partner_admin"
	// RolePartnerOperator is a desk operator of a local partner organization.
	RolePartnerOperator = "partner_operator"
	// RoleMediator is a linguistic-cultural mediator.
	RoleMediator = "mediator"
	// RoleService marks a service principal: another Ponte service calling as itself
	// (subject "service:<name>"); it passes only the rules that list its name in Services.
	RoleService = "service"
)

// Principal is the authenticated caller.
type Principal struct {
	Subject      string   // JWT "sub"
	Organization string   // claim "org"
	Territory    string   // claim "territory": ISTAT code of a municipality/province/region, or a district code
	Roles        []string // claim "roles"
}

// HasRole reports whether p holds any of roles; admin does not implicitly match here.
func (p *Principal) HasRole(roles ...string) bool {
	if p == nil {
		return false
	}
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Covers reports whether p's territory is among territoryAncestors: a row's territory and those containing it.
func (p *Principal) Covers(territoryAncestors []string) bool {
	return p != nil && p.Territory != "" && slices.Contains(territoryAncestors, p.Territory)
}

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal in ctx, if any; a public call without a token has none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
