package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ServiceSubjectPrefix starts the subject of every service principal ("service:reporting").
// The prefix is reserved: a token whose subject carries it must be a service principal.
const ServiceSubjectPrefix = "service:"

// maxServiceNameLen bounds a service name, as DNS labels are bounded.
const maxServiceNameLen = 63

var errServiceToken = errors.New(`a service token has subject "service:<name>", role "service" and no other role, organization or territory`)

// ServicePrincipal returns the principal a Ponte service calls another as: subject
// "service:<name>", role service, no organization and no territory.
func ServicePrincipal(name string) Principal {
	return Principal{Subject: ServiceSubjectPrefix + name, Roles: []string{RoleService}}
}

// ServiceName returns the name of the service p speaks for ("reporting" for
// "service:reporting"), or false if p is not a service principal.
func (p *Principal) ServiceName() (string, bool) {
	if p == nil || !p.HasRole(RoleService) {
		return "", false
	}
	name, ok := strings.CutPrefix(p.Subject, ServiceSubjectPrefix)
	if !ok || !ValidServiceName(name) {
		return "", false
	}
	return name, true
}

// ValidServiceName reports whether name can name a service principal: 1 to 63 lowercase
// ASCII letters, digits and dashes, starting with a letter.
func ValidServiceName(name string) bool {
	if name == "" || len(name) > maxServiceNameLen || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// checkServiceClaims refuses a token that is half a service principal: role service with
// another subject or more claims, or a "service:" subject without exactly that role. Such
// a token would otherwise pass as a user whose subject reads like a service in the audit
// trail, or as a service holding a user's reach.
func checkServiceClaims(p *Principal) error {
	hasRole := p.HasRole(RoleService)
	hasPrefix := strings.HasPrefix(p.Subject, ServiceSubjectPrefix)
	if !hasRole && !hasPrefix {
		return nil
	}
	name := strings.TrimPrefix(p.Subject, ServiceSubjectPrefix)
	if !hasRole || !hasPrefix || !ValidServiceName(name) || len(p.Roles) != 1 || p.Organization != "" || p.Territory != "" {
		return errServiceToken
	}
	return nil
}

// admits reports whether r lets p call its method (r not public): a service principal
// only if r lists its name in Services, anyone else by role (admin always).
func (r Rule) admits(p *Principal) bool {
	if name, ok := p.ServiceName(); ok {
		for _, s := range r.Services {
			if s == name {
				return true
			}
		}
		return false
	}
	return p.HasRole(RoleAdmin) || p.HasRole(r.Roles...)
}

// Validate checks that every rule of p names valid service principals and never lists
// the service role among Roles (a service passes through Services only).
func (p Policy) Validate() error {
	var errs []error
	for method, r := range p {
		for _, s := range r.Services {
			if !ValidServiceName(s) {
				errs = append(errs, fmt.Errorf("policy %s: %q is not a service name", method, s))
			}
		}
		for _, role := range r.Roles {
			if role == RoleService {
				errs = append(errs, fmt.Errorf("policy %s: list service principals in Services, not role %q in Roles", method, RoleService))
			}
		}
	}
	return errors.Join(errs...)
}
