// Package reporting is the reporting service, the observatory: it follows the other
// services' change feeds as the service principal service:reporting, keeps only
// anonymous facts and their rollups (package store), answers indicator queries from
// the rollups (package query) and publishes nothing that has not passed disclosure
// control (package disclosure). New builds it; Register is the only door in.
//
// # Who sees what
//
// Indicators a deployment marks public: anyone, without a token, over the whole node.
// Every indicator: admin over the whole node; region_admin and region_analyst over
// their territory claim (a region); district_admin and district_operator over theirs (a
// district code, or an ISTAT province or municipality code) — the facts outside it are
// left out before anything is computed, so margins never reveal what lies beyond.
// Other roles see the public indicators only. ExportAggregates, the unprotected cells a
// region node sums, admits only the reporting service principal (another node's
// reporting), never a person. GetIngestionStatus: admin, region_admin, district_admin.
//
// docs/reporting.md holds the indicator definitions, their mapping from Ponte's
// events, the disclosure method and what is not built yet.
package reporting

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/federation"
	"github.com/ponte-network/ponte/services/reporting/ingest"
	"github.com/ponte-network/ponte/services/reporting/query"
	"github.com/ponte-network/ponte/services/reporting/store"
	"github.com/ponte-network/ponte/services/reporting/store/sqlcore"
)

// Deps is what the reporting service needs from the process.
type Deps struct {
	Store     store.Store
	Territory *territory.Catalog
	Catalog   *catalog.Catalog // nil: catalog.Default()
	// Cases is the case feed (the reporting projection), read as service:reporting.
	Cases ingest.CaseFeed
	// Mediators is the mediators' booking feed, read as service:reporting; nil: not
	// followed (the mediators service is not part of this deployment).
	Mediators ingest.MediatorFeed
	// Housing is the housing feed, read as service:reporting; nil: not followed.
	Housing ingest.HousingFeed
	// Directory is the directory's public change feed; nil: not followed.
	Directory ingest.DirectoryFeed
	// Secret keys pseudonyms and cell keys (at least 16 bytes).
	Secret []byte
	// Disclosure is the deployment's disclosure control (threshold at least 3).
	Disclosure disclosure.Config
	Logger     *slog.Logger
	// Districts, when set, make this a region node: queries are answered from these
	// district nodes' reporting (package federation) and no feed is followed.
	Districts []federation.Node
	// Deadline bounds a federated query's wait for its districts (0: 3 s).
	Deadline time.Duration
}

// Service implements the reporting gRPC service.
type Service struct {
	server   *server
	store    store.Store
	follower *ingest.Follower
}

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Territory == nil {
		return nil, errors.New("reporting: a store and the territory catalog are required")
	}
	if deps.Disclosure.Threshold < disclosure.MinThreshold {
		return nil, disclosure.ErrThreshold
	}
	keys, err := ingest.NewKeys(deps.Secret)
	if err != nil {
		return nil, err
	}
	if deps.Catalog == nil {
		deps.Catalog = catalog.Default()
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	f := &ingest.Follower{Sources: sources(deps, keys), Store: deps.Store, Logger: deps.Logger}
	if len(f.Sources) == 0 && len(deps.Districts) == 0 {
		return nil, errors.New("reporting: a feed to follow (or district nodes) is required")
	}
	srv := &server{
		store:   deps.Store,
		catalog: deps.Catalog,
		engine:  &query.Engine{Reader: deps.Store, Territory: deps.Territory, Disclosure: deps.Disclosure},
		follow:  f,
	}
	if len(deps.Districts) > 0 {
		srv.region = &federation.Region{Nodes: deps.Districts, Deadline: deps.Deadline, Disclosure: deps.Disclosure}
	}
	return &Service{server: srv, store: deps.Store, follower: f}, nil
}

// sources are the feeds deps name, in the order they are read.
func sources(deps Deps, keys ingest.Keys) []ingest.Source {
	var out []ingest.Source
	if deps.Cases != nil {
		out = append(out, ingest.CaseSource{Feed: deps.Cases, Keys: keys})
	}
	if deps.Mediators != nil {
		out = append(out, ingest.MediatorSource{Feed: deps.Mediators, Keys: keys})
	}
	if deps.Housing != nil {
		out = append(out, ingest.HousingSource{Feed: deps.Housing, Keys: keys})
	}
	if deps.Directory != nil {
		out = append(out, ingest.DirectorySource{Feed: deps.Directory, Keys: keys})
	}
	return out
}

// ServiceNames are the full gRPC names of the service, for health checks.
var ServiceNames = []string{reportingv1.ReportingService_ServiceDesc.ServiceName}

// Register registers the gRPC service on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	reportingv1.RegisterReportingServiceServer(r, s.server)
}

// Ready reports whether the service can serve.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Follow follows the source feeds until ctx ends; a region node follows none.
func (s *Service) Follow(ctx context.Context) {
	if s.server.region != nil {
		return
	}
	s.follower.Run(ctx)
}

// Sync reads the source feeds to their heads once (tests, and `ponte reporting rebuild`).
func (s *Service) Sync(ctx context.Context) error {
	_, err := s.follower.Sync(ctx)
	return err
}

// Rebuild deletes every fact and rollup and reads the feeds again from zero.
func (s *Service) Rebuild(ctx context.Context) error {
	return s.follower.Rebuild(ctx, s.store.Reset)
}

// FeedLags returns, per source, how many entries its last read left unread.
func (s *Service) FeedLags() map[string]ingest.Lag { return s.follower.Lags() }

// Policy says who may call each method; the handlers decide what each caller sees.
func Policy() auth.Policy {
	const svc = "/ponte.reporting.v1.ReportingService/"
	public := auth.Rule{Public: true}
	return auth.Policy{
		svc + "ListIndicators":     public,
		svc + "GetIndicator":       public,
		svc + "QueryIndicator":     public,
		svc + "ExportIndicator":    public,
		svc + "ExportAggregates":   {Services: []string{"reporting"}},
		svc + "GetIngestionStatus": {Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin}},
		svc + "RebuildFacts":       {}, // admin only
	}
}

// OpenStore opens the configured store and applies its migrations.
func OpenStore(ctx context.Context, cfg storage.Config) (store.Store, error) {
	st, err := sqlcore.Open(ctx, cfg)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return st, nil
}

// MigrateStore applies the service's migrations without serving.
func MigrateStore(ctx context.Context, cfg storage.Config) error { return sqlcore.Migrate(ctx, cfg) }
