// Package housing is the housing mediation desk's service: owners and the homes they
// offer, households looking for a home (housing requests, each tied to a case of the
// cases service), explained matching, proposals, viewings, the signed contract and the
// tenancy that follows. New builds it; Register is the only door in. The design, the
// state machines and the decisions are in docs/housing.md.
//
// # Who sees what
//
// district_admin and district_operator are the housing desk: they reach the homes,
// requests, proposals, viewings and tenancies of their territory (the token's territory
// claim: a district code, matched against the records' district_code, or an ISTAT region,
// province or municipality code, matched against their municipality) and the owners of
// their district or registered by their organization. partner_admin and partner_operator
// reach the housing requests their organization opened, and nothing else here (homes carry
// owners' addresses). admin reaches everything. Region roles and mediators reach nothing:
// they read aggregates through reporting. Records outside the caller's reach are
// NOT_FOUND. The change feed is read by admin and the service principal
// service:reporting.
//
// A housing request names a case; the service reads it from the cases service over gRPC
// with the caller's own credentials, so nobody can attach a case they cannot see.
package housing

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/housing/match"
	"github.com/ponte-network/ponte/services/housing/store"
	"github.com/ponte-network/ponte/services/housing/store/sqlcore"
)

// Deps is what the housing service needs from the process.
type Deps struct {
	Store   store.Store
	Catalog *territory.Catalog
	// Cases reads the case of a housing request; calls carry the caller's credentials.
	Cases casesv1.CaseServiceClient
	// Places gives the distances between municipalities; nil: DefaultPlaces.
	Places *match.Places
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Service implements the housing gRPC service.
type Service struct {
	server *server
	store  store.Store
}

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil || deps.Cases == nil {
		return nil, errors.New("housing: store, territory catalog and cases client are required")
	}
	if deps.Places == nil {
		deps.Places = match.DefaultPlaces()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		rome = time.FixedZone("CET", 3600)
	}
	s := &server{store: deps.Store, catalog: deps.Catalog, cases: deps.Cases, places: deps.Places,
		now: deps.Now, rome: rome, index: newIndex(deps.Store, deps.Places)}
	return &Service{server: s, store: deps.Store}, nil
}

// ServiceNames are the full gRPC names of the service, for health checks.
var ServiceNames = []string{housingv1.HousingService_ServiceDesc.ServiceName}

// Register registers the gRPC service on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	housingv1.RegisterHousingServiceServer(r, s.server)
}

// Ready reports whether the service can serve: its store is reachable and migrated.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Warm loads the matching index, so that the first match does not pay for it.
func (s *Service) Warm(ctx context.Context) error { return s.server.index.sync(ctx) }

// Policy says who may call each method: district and partner staff (admin always
// passes); the change feed admin and service:reporting. Row-level rules, and which
// methods are for the desk only, are checked in the handlers.
func Policy() auth.Policy {
	const svc = "/ponte.housing.v1.HousingService/"
	staff := auth.Rule{Roles: []string{auth.RolePartnerAdmin, auth.RolePartnerOperator, auth.RoleDistrictAdmin, auth.RoleDistrictOperator}}
	p := auth.Policy{}
	for _, m := range []string{
		"ListOwners", "GetOwner", "CreateOwner", "UpdateOwner",
		"ListHomes", "GetHome", "CreateHome", "UpdateHome", "WithdrawHome", "MatchHome",
		"ListHousingRequests", "GetHousingRequest", "CreateHousingRequest", "UpdateHousingRequest", "CloseHousingRequest", "MatchHousingRequest",
		"ListProposals", "GetProposal", "CreateProposal", "DeclineProposal", "SignContract",
		"ListViewings", "CreateViewing", "RecordViewingOutcome",
		"ListTenancies", "GetTenancy", "CreateTenancyEvent", "EndTenancy",
	} {
		p[svc+m] = staff
	}
	feed := auth.Rule{Roles: []string{auth.RoleAdmin}, Services: []string{"reporting"}}
	p[svc+"ListHousingChanges"] = feed
	p[svc+"WatchHousingChanges"] = feed
	return p
}

// OpenStore opens the configured store (PostgreSQL, or the embedded store when no
// database URL is given) and applies its migrations.
func OpenStore(ctx context.Context, cfg storage.Config) (store.Store, error) {
	st, err := sqlcore.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// MigrateStore applies the service's migrations without serving.
func MigrateStore(ctx context.Context, cfg storage.Config) error {
	return sqlcore.Migrate(ctx, cfg)
}
