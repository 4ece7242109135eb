package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/ponte-network/ponte/gateway"
	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/libs/modules"
)

// The module names -target accepts besides the services.
const (
	ModuleAll     = "all"
	ModuleGateway = "gateway"
)

// registerModules declares every module the binary knows. Adding a service is adding
// its module (a file like directory.go beside this one) to the list below.
func (a *App) registerModules() error {
	services := []modules.Module{
		a.casesModule(),
		a.directoryModule(),
		a.housingModule(),
		a.reportingModule(),
		a.mediatorsModule(),
	}
	all := modules.Module{Name: ModuleAll, Deps: []string{ModuleGateway}}
	for _, m := range services {
		if err := a.manager.Register(m); err != nil {
			return err
		}
		all.Deps = append(all.Deps, m.Name)
	}
	if err := a.manager.Register(modules.Module{Name: ModuleGateway, Start: a.startGateway}); err != nil {
		return err
	}
	return a.manager.Register(all)
}

// startGateway mounts the REST routes of every service: in process for those started
// here, over gRPC for those given a --<service>-endpoint.
func (a *App) startGateway(ctx context.Context) error {
	// Every selected module, started or not yet: in-process connections are lazy, so the
	// gateway may mount a service that starts after it.
	selected, err := a.manager.Resolve(a.cfg.TargetList())
	if err != nil {
		return err
	}
	var backends []gateway.Backend
	for _, svc := range config.Services {
		if !slices.Contains(gateway.Services(), svc) {
			continue // no REST routes for it in this build yet
		}
		local := slices.Contains(selected, svc)
		endpoint := *a.cfg.Endpoints[svc]
		switch {
		case local:
			conn, err := a.srv.InProcessConn()
			if err != nil {
				return err
			}
			a.onClose(conn.Close)
			backends = append(backends, gateway.Backend{Service: svc, Conn: conn})
		case endpoint != "":
			conn, err := a.dialRemote(endpoint)
			if err != nil {
				return fmt.Errorf("--%s-endpoint: %w", svc, err)
			}
			a.onClose(conn.Close)
			backends = append(backends, gateway.Backend{Service: svc, Conn: conn})
			a.addReady(svc+" (remote)", remoteReady(conn, svc))
		default:
			a.tel.Logger.Info("service neither local nor given an endpoint: its REST routes are not mounted", slog.String("service", svc))
		}
	}
	obs, err := a.observatory()
	if err != nil {
		return err
	}
	handler, err := gateway.New(ctx, gateway.Config{
		Telemetry:    a.tel,
		MaxBodyBytes: a.cfg.MaxBodyBytes,
		BodyTimeout:  a.cfg.BodyReadTimeout,
		CORSOrigins:  config.SplitList(a.cfg.CORSOrigins),
		Ready:        a.Ready,
		Version:      a.version,
		API:          gateway.APIInfo{PublicURL: a.cfg.API.PublicURL, ContactEmail: a.cfg.API.ContactEmail},

		TraceClientInfo: a.cfg.Edge.TraceClientInfo,
		RateLimit:       gateway.RateLimit{PerSecond: a.cfg.Edge.RateLimit, Burst: a.cfg.Edge.RateBurst},
		Observatory:     obs,
		Catalog:         a.catalog,
	}, backends)
	if err != nil {
		return err
	}
	a.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnState:         a.edgeConns.track,
	}
	return nil
}
