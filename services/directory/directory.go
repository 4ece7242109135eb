// Package directory is the directory service: the mapped services of the territory and
// the territory tree itself (regions, provinces, municipalities and the districts that
// networks define). New builds it; Register is the only door in.
//
// # Records
//
// Organizations, services, locations and taxonomy terms follow Open Referral HSDS 3.1.
// Each is stored as its API message in protojson (a document column) plus the columns
// search filters on (folded text, territory codes, languages, target groups) and its
// references to other records (a service's organization, taxonomy terms and locations;
// a term's parent and organization; a location's organization). The tables and the SQL
// are the same on PostgreSQL and SQLite, so both stores return the same records.
//   - Ids are chosen by the caller (HSDS ids, "ponte:l2-italian") or generated (UUID v4).
//   - A reference to a missing record is refused as 400 naming the request field
//     ("service.taxonomy_term_ids[1]"), checked inside the write transaction.
//   - A record others refer to cannot be deleted (400, FAILED_PRECONDITION): delete or
//     change the services first; an organization with records cannot be deleted.
//   - Every write appends to the change log in its transaction: topic "organization",
//     "service", "location" or "taxonomy_term" (and "district"), key the id, payload the
//     record as protojson with etag and times (upserts), none for deletes.
//
// # Languages
//
// Translatable text is a map locale → text. Reads take a locale: when given, each map
// holds one entry, the text in that locale, else in Italian, else in the alphabetically
// first locale, keyed by the locale actually returned (so clients can mark fallbacks
// and set dir="rtl" for Arabic); when empty, every translation comes back.
//
// # Updates
//
// Update takes the record's fields and a field mask (REST: derived from the PATCH body).
// A path names a top-level field, which is replaced whole ("address.city" replaces the
// address); an empty mask replaces every field. id, etag and times are never taken from
// the body. When the body carries an etag it must be current (else 409); the store checks
// the etag read again inside its transaction. The merged record is validated against the
// proto rules, so a partial body passes validation.
//
// # Who may write
//
// Reads, search and the change feed are public. Writes: admin anything; partner_admin
// and partner_operator of the owning organization (the token's org claim equals the
// record's organization_id; only partner_admin may create or delete the organization
// itself); district_admin and region_admin when every municipality of the record lies
// within their territory (an ISTAT code or a district of the store): a location's
// municipality, a service's locations' municipalities (its organization's seat when it
// has none), an organization's seat. Built-in taxonomy terms (no organization) are
// admin-only; an organization's own terms follow the organization. An update is checked
// against the record before and after, so nobody moves a record out of their reach.
//
// # Mirroring
//
// A node can mirror upstream directory nodes (a region its districts; ponte serve
// --directory-mirror=name=host:port,...): Service.Mirror follows each upstream's public
// WatchChanges from the position stored for it (table mirror_cursors) and applies each
// change with the cursor in one transaction, so a restart resumes where it stopped,
// without duplicates, and deletes made upstream while it was down are followed.
//   - Mirrored organizations, services, locations and taxonomy terms keep the upstream's
//     id, etag and times; their origin (the upstream's configured name) is shown in the
//     output-only origin field and in this node's change log, so a mirror of this node
//     sees them too (with this node as their origin).
//   - They are read-only here: Update, Delete, and Create with their id are refused as
//     FAILED_PRECONDITION (400) "... is mirrored from <origin>: change it at its origin".
//     Reads and search include them.
//   - Ids are not namespaced: a change to an id this node holds with another origin (its
//     own record, another upstream's) is left out and logged, and the cursor moves on.
//   - Not mirrored: districts (each node keeps its own) and built-in taxonomy terms
//     (every node seeds them). Mirrored references are not checked (the upstream did),
//     and a mirrored delete is applied even if a local record still refers to it.
//
// # Search
//
// SearchServices runs on the search index (package searchindex), an in-memory read model
// of services, locations and taxonomy terms built from the store when the node starts
// serving (WarmSearchIndex; else at the first search) and kept current from the change
// log, which it reads when the feed signals a commit (changelog.Feed.Generation) or a
// second has passed: a search sees every write that returned on this node, and another
// replica's writes once their NOTIFY arrives. The page's services come from the index
// too (their version the match was decided on), so a search makes no database round
// trip. The same index serves both stores, so their answers are the same by construction.
//   - q: words, folded (case and accents ignored), stop words of Italian, English, French
//     and Spanish dropped, reduced by the Snowball Italian stemmer (the algorithm of
//     PostgreSQL's "italian" configuration) whatever their language; each must begin a
//     word of the service's names, descriptions, eligibility or interpretation text in
//     any locale, or of a label (any locale) or code of one of its taxonomy terms. So
//     "corsi" finds "corso", "ital" finds "italiano", "cours d'italien" finds the L2
//     term's French label. A q of stop words only finds nothing.
//   - Services with status "inactive" or "defunct" are never found ("temporarily
//     closed" ones are, with their status); List and Get still return them.
//   - taxonomy: any of the terms or their descendants; territory: a municipality,
//     province, region or district code, matching services delivered at a location
//     inside it; language and target_group: exact.
//   - open_at: open at that instant read in Europe/Rome: at any of the service's
//     locations, by the service-at-location's schedules, else the service's, else the
//     location's. A date with exceptions uses only them; a service without schedules is
//     not "open" (unknown).
//   - near + radius_km (default 10, at most 200): the nearest located place of the
//     service within the radius (haversine), returned as distance_km (rounded to metres).
//   - Ranking is deterministic: by distance when near is given; then services whose
//     names (any locale) hold every query word before the others; then by the folded
//     name in the requested locale (Italian fallback); then by id.
//   - Facets count every match (not just the page) per taxonomy term on the services and
//     per municipality of their locations, most frequent first, then by value; each
//     returns its facet_size (default 20, at most 1000) first values: a nationwide query
//     touches thousands of municipalities.
//   - Page tokens carry an offset bound to the whole query (filters and locale): a token
//     from another query is refused on page_token.
//   - While the store cannot be reached, searches and territory reads answer from the
//     index as it stands (searchindex.Index.Current) with the ponte-index-stale header
//     (seconds since the last catch-up), and the index catches up in the background.
//   - Cost: bitmap operations on the index, then one store read of the page;
//     BenchmarkSearchServices (in process) and gateway/internal/app
//     BenchmarkSearchREST (100,000 services through the REST edge) measure it.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	pgkit "github.com/ponte-network/ponte/libs/storage/postgres"
	litekit "github.com/ponte-network/ponte/libs/storage/sqlite"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/store"
	pgstore "github.com/ponte-network/ponte/services/directory/store/postgres"
	litestore "github.com/ponte-network/ponte/services/directory/store/sqlite"
)

// Deps is what the directory needs from the process.
type Deps struct {
	Store   store.Store
	Catalog *territory.Catalog
	Logger  *slog.Logger
	// MeterProvider, if set, receives the search index's staleness and last catch-up.
	MeterProvider metric.MeterProvider
}

// Service implements the directory's gRPC services.
type Service struct {
	territories *territoryServer
	directory   *directoryServer
	store       store.Store
	logger      *slog.Logger
}

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil {
		return nil, errors.New("directory: store and territory catalog are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	dir := newDirectoryServer(deps.Store, deps.Catalog)
	if deps.MeterProvider != nil {
		if err := indexMetrics(deps.MeterProvider, dir.index); err != nil {
			return nil, err
		}
	}
	return &Service{
		territories: newTerritoryServer(deps.Store, dir.index, deps.Catalog),
		directory:   dir,
		store:       deps.Store,
		logger:      deps.Logger,
	}, nil
}

// ServiceNames are the full gRPC names of the directory's services, for health checks.
var ServiceNames = []string{
	directoryv1.TerritoryService_ServiceDesc.ServiceName,
	directoryv1.DirectoryService_ServiceDesc.ServiceName,
}

// Register registers the directory's gRPC services on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	directoryv1.RegisterTerritoryServiceServer(r, s.territories)
	directoryv1.RegisterDirectoryServiceServer(r, s.directory)
}

// Ready reports whether the directory can serve: its store is reachable and migrated.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// WarmSearchIndex builds the search index now rather than at the first search, which
// would otherwise wait for it (seconds for a hundred thousand services).
func (s *Service) WarmSearchIndex(ctx context.Context) error {
	if err := s.directory.index.Sync(ctx); err != nil {
		return fmt.Errorf("build the search index: %w", err)
	}
	return nil
}

// Policy says who may call each directory method. Row-level rules (which municipalities
// a district admin may group, which organization's records a partner may write) are
// checked in the handlers.
func Policy() auth.Policy {
	const svc = "/ponte.directory.v1.TerritoryService/"
	const dir = "/ponte.directory.v1.DirectoryService/"
	writers := auth.Rule{Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin, auth.RolePartnerAdmin, auth.RolePartnerOperator}}
	p := auth.Policy{
		svc + "ListTerritories": {Public: true},
		svc + "GetTerritory":    {Public: true},
		svc + "CreateTerritory": {Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin}},
		dir + "SearchServices":  {Public: true},
		dir + "ListChanges":     {Public: true},
		dir + "WatchChanges":    {Public: true},
	}
	for _, kind := range []string{"Organization", "Service", "Location", "TaxonomyTerm"} {
		plural := kind + "s"
		if kind == "TaxonomyTerm" {
			plural = "TaxonomyTerms"
		}
		p[dir+"List"+plural] = auth.Rule{Public: true}
		p[dir+"Get"+kind] = auth.Rule{Public: true}
		p[dir+"Create"+kind] = writers
		p[dir+"Update"+kind] = writers
		p[dir+"Delete"+kind] = writers
	}
	// A partner registers its own organization, but only its admin may.
	p[dir+"CreateOrganization"] = auth.Rule{Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin, auth.RolePartnerAdmin}}
	p[dir+"DeleteOrganization"] = auth.Rule{Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin, auth.RolePartnerAdmin}}
	return p
}

// StoreConfig says where the service keeps its data: the one storage configuration
// every Ponte service takes.
type StoreConfig = storage.Config

// Migrations are the directory's schema on both databases.
func Migrations() storage.Migrations {
	return storage.Migrations{Schema: pgstore.Schema, Postgres: pgstore.Migrations(), SQLite: litestore.Migrations()}
}

// OpenStore opens the configured store (PostgreSQL, or the embedded store when no
// database URL is given) and applies its migrations. The directory keeps two store
// implementations rather than one SQL core (docs/storage.md says why).
func OpenStore(ctx context.Context, cfg StoreConfig) (store.Store, error) {
	return storage.Open(ctx, cfg, Migrations(), storage.Backends[store.Store]{
		Postgres: func(ctx context.Context, c pgkit.Config) (store.Store, error) { return nonNil(pgstore.Open(ctx, c)) },
		SQLite: func(ctx context.Context, c litekit.Config) (store.Store, error) {
			return nonNil(litestore.Open(ctx, c))
		},
	})
}

// nonNil keeps a failed open from returning a typed nil inside the interface.
func nonNil[S store.Store](s S, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MigrateStore applies the directory's migrations without serving.
func MigrateStore(ctx context.Context, cfg StoreConfig) error {
	return storage.Migrate(ctx, cfg, Migrations())
}
