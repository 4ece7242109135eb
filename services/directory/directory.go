// Package directory is the directory service: the mapped services of the territory and
// the territory tree itself (regions, provinces, municipalities and the districts that
// networks define). New builds it; Register is the only door in.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
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
}

// Service implements the directory's gRPC services.
type Service struct {
	territories *territoryServer
	store       store.Store
}

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil {
		return nil, errors.New("directory: store and territory catalog are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		territories: newTerritoryServer(deps.Store, deps.Catalog),
		store:       deps.Store,
	}, nil
}

// ServiceNames are the full gRPC names of the directory's services, for health checks.
var ServiceNames = []string{directoryv1.TerritoryService_ServiceDesc.ServiceName}

// Register registers the directory's gRPC services on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	directoryv1.RegisterTerritoryServiceServer(r, s.territories)
}

// Ready reports whether the directory can serve: its store is reachable and migrated.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Policy says who may call each directory method. Row-level rules (which municipalities
// a district admin may group) are checked in the handlers.
func Policy() auth.Policy {
	const svc = "/ponte.directory.v1.TerritoryService/"
	return auth.Policy{
		svc + "ListTerritories": {Public: true},
		svc + "GetTerritory":    {Public: true},
		svc + "CreateTerritory": {Roles: []string{auth.RoleRegionAdmin, auth.RoleDistrictAdmin}},
	}
}

// StoreConfig says where the directory keeps its data.
type StoreConfig struct {
	DatabaseURL   string // PostgreSQL; empty = the embedded store
	SQLitePath    string // the embedded store's file
	QueryExecMode string
	MaxConns      int32
	// TracerProvider traces each SQL statement; nil = not traced.
	TracerProvider trace.TracerProvider
	// MeterProvider receives PostgreSQL pool usage; nil = not measured.
	MeterProvider metric.MeterProvider
}

// OpenStore opens the configured store and applies its migrations.
func OpenStore(ctx context.Context, cfg StoreConfig) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		pc := pgstore.Config(cfg.DatabaseURL)
		pc.QueryExecMode, pc.MaxConns = cfg.QueryExecMode, cfg.MaxConns
		pc.TracerProvider, pc.MeterProvider = cfg.TracerProvider, cfg.MeterProvider
		return pgstore.Open(ctx, pc)
	}
	if cfg.SQLitePath == "" {
		return nil, errors.New("directory store: neither a database URL nor an embedded store path")
	}
	lc := litestore.Config(cfg.SQLitePath)
	lc.TracerProvider = cfg.TracerProvider
	st, err := litestore.Open(ctx, lc)
	if err != nil {
		return nil, fmt.Errorf("embedded store %s: %w", cfg.SQLitePath, err)
	}
	return st, nil
}

// MigrateStore applies the directory's migrations without serving.
func MigrateStore(ctx context.Context, cfg StoreConfig) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	return st.Close()
}
