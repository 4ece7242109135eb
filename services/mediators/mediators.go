// Package mediators is the mediators service: the one register of linguistic-cultural
// mediators of a territory, the bookings that schools, health, social, legal and housing
// services make of them, their assignment (never a double booking), the mediators'
// calendar feeds and the monthly statements that pay them. New builds it; Register is
// the only door in. docs/mediators.md is the long form of what follows.
//
// # Bookings
//
// requested → assigned (AssignBooking) → confirmed (the mediator) → completed (actual
// times) | cancelled | no_show. A booking may be reassigned while assigned; rescheduled
// while requested, assigned or confirmed (the mediator is kept when still free by every
// rule, and confirms again; otherwise the booking returns to requested); cancelled
// before it is completed; marked no_show once it has started. Every change is a
// Transition with the token's subject and the time. A series (weekly_occurrences) is a
// set of bookings sharing a series id: each occurrence is moved or cancelled alone, and
// auto-assignment prefers the mediator of the series' other occurrences.
//
// Cancellation by the mediator is void. By anyone else it is late — billed per the rate
// card in force — when a mediator was assigned and the notice is shorter than the card's
// late_cancellation_notice_hours; void otherwise.
//
// # Who sees what
//
// admin: everything. district_admin and district_operator: the bookings of their
// territory (a district code, or an ISTAT province/region/municipality code for the
// bookings' municipalities) and the register of the mediators serving their district;
// only district_admin (and admin) sees tax codes, registers mediators, closes months
// and reads statements and the audit log of the district. partner_admin and
// partner_operator: their organization's bookings (requesting or paying), and the
// register without tax codes or contacts; their statements are what their organization
// pays. mediator (token subject = mediator id): their own record, bookings, calendar
// token and statements. Region roles: nothing (aggregates come through reporting). The
// change feed: admin and the service principal service:reporting. Records outside the
// caller's reach are NOT_FOUND, so ids do not leak.
//
// # Audit
//
// Every response carrying a mediator's personal data (tax code, e-mail, phone) and
// every write of a mediator appends to the audit log (subject, organization, method,
// action, mediator id), in the write's transaction or before the read is answered.
package mediators

import (
	"context"
	"errors"
	"time"
	_ "time/tzdata" // Europe/Rome even where the system has no zoneinfo

	"google.golang.org/grpc"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/mediators/store"
	"github.com/ponte-network/ponte/services/mediators/store/sqlcore"
)

// DefaultTravelBuffer is the time kept free between in-person bookings in different
// municipalities when the deployment sets none.
const DefaultTravelBuffer = 30 * time.Minute

// Deps is what the mediators service needs from the process.
type Deps struct {
	Store   store.Store
	Catalog *territory.Catalog
	// TravelBuffer between in-person bookings in different municipalities; 0 = default.
	TravelBuffer time.Duration
	// Location of availability windows, dates and months; nil = Europe/Rome.
	Location *time.Location
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Service implements the mediators gRPC service.
type Service struct {
	server *server
	store  store.Store
}

// Rome loads Europe/Rome (embedded in the binary by time/tzdata where needed).
func Rome() (*time.Location, error) { return time.LoadLocation("Europe/Rome") }

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil {
		return nil, errors.New("mediators: store and territory catalog are required")
	}
	if deps.TravelBuffer <= 0 {
		deps.TravelBuffer = DefaultTravelBuffer
	}
	if deps.Location == nil {
		loc, err := Rome()
		if err != nil {
			return nil, err
		}
		deps.Location = loc
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Service{server: &server{deps: deps, store: deps.Store}, store: deps.Store}, nil
}

// ServiceNames are the full gRPC names of the service, for health checks.
var ServiceNames = []string{mediatorsv1.MediatorService_ServiceDesc.ServiceName}

// Register registers the gRPC service on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	mediatorsv1.RegisterMediatorServiceServer(r, s.server)
}

// Ready reports whether the service can serve: its store is reachable and migrated.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Policy says who may call each method (admin always passes); row-level rules are
// checked in the handlers.
func Policy() auth.Policy {
	const svc = "/ponte.mediators.v1.MediatorService/"
	district := []string{auth.RoleDistrictAdmin, auth.RoleDistrictOperator}
	partner := []string{auth.RolePartnerAdmin, auth.RolePartnerOperator}
	all := append(append(append([]string{}, district...), partner...), auth.RoleMediator)
	rule := func(roles ...string) auth.Rule { return auth.Rule{Roles: roles} }
	return auth.Policy{
		svc + "ListMediators":           rule(all...),
		svc + "GetMediator":             rule(all...),
		svc + "CreateMediator":          rule(auth.RoleDistrictAdmin),
		svc + "UpdateMediator":          rule(auth.RoleDistrictAdmin, auth.RoleMediator),
		svc + "RotateCalendarToken":     rule(auth.RoleDistrictAdmin, auth.RoleMediator),
		svc + "GetMediatorCalendar":     {Public: true}, // the calendar token authenticates
		svc + "ListBookings":            rule(all...),
		svc + "GetBooking":              rule(all...),
		svc + "CreateBooking":           rule(append(append([]string{}, district...), partner...)...),
		svc + "AssignBooking":           rule(district...),
		svc + "ConfirmBooking":          rule(auth.RoleMediator),
		svc + "RescheduleBooking":       rule(append(append([]string{}, district...), partner...)...),
		svc + "CancelBooking":           rule(all...),
		svc + "CompleteBooking":         rule(auth.RoleDistrictAdmin, auth.RoleDistrictOperator, auth.RoleMediator),
		svc + "ReviewCompletion":        rule(partner...),
		svc + "MarkNoShow":              rule(all...),
		svc + "ListStatements":          rule(auth.RoleDistrictAdmin, auth.RolePartnerAdmin, auth.RoleMediator),
		svc + "CloseStatementMonth":     rule(auth.RoleDistrictAdmin),
		svc + "ListMediatorChanges":     {Services: []string{"reporting"}},
		svc + "WatchMediatorChanges":    {Services: []string{"reporting"}},
		svc + "ListMediatorAuditEvents": rule(auth.RoleDistrictAdmin),
	}
}

// StoreConfig says where the service keeps its data: the one storage configuration
// every Ponte service takes.
type StoreConfig = storage.Config

// OpenStore opens the configured store (PostgreSQL, or the embedded store when no
// database URL is given) and applies its migrations.
func OpenStore(ctx context.Context, cfg StoreConfig) (store.Store, error) {
	loc, err := Rome()
	if err != nil {
		return nil, err
	}
	st, err := sqlcore.Open(ctx, cfg, loc)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return st, nil
}

// MigrateStore applies the service's migrations without serving.
func MigrateStore(ctx context.Context, cfg StoreConfig) error {
	return sqlcore.Migrate(ctx, cfg)
}
