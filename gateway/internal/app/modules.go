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
	"github.com/ponte-network/ponte/services/directory"
)

// The module names -target accepts besides the services.
const (
	ModuleAll     = "all"
	ModuleGateway = "gateway"
)

// registerModules declares every module the binary knows. Adding a service is adding
// one module here, with its Start and Stop.
func (a *App) registerModules() error {
	mods := []modules.Module{
		{Name: "directory", Start: a.startDirectory},
		{Name: ModuleGateway, Start: a.startGateway},
		// Services are started before the gateway so that it mounts them in process.
		{Name: ModuleAll, Deps: []string{"directory", ModuleGateway}},
	}
	for _, m := range mods {
		if err := a.manager.Register(m); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) startDirectory(ctx context.Context) error {
	st, err := directory.OpenStore(ctx, directory.StoreConfig{
		DatabaseURL:    a.cfg.Storage.DatabaseURL,
		SQLitePath:     a.cfg.Storage.SQLitePath("directory"),
		QueryExecMode:  a.cfg.Storage.QueryExecMode,
		MaxConns:       int32(a.cfg.Storage.MaxConns),
		TracerProvider: a.tel.TracerProvider,
	})
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := directory.New(directory.Deps{Store: st, Catalog: a.catalog, Logger: a.tel.Logger})
	if err != nil {
		return err
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(directory.Policy())
	a.addReady("directory", svc.Ready)
	for _, name := range directory.ServiceNames {
		a.srv.SetServing(name, true)
	}
	return nil
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
	handler, err := gateway.New(ctx, gateway.Config{
		Telemetry:    a.tel,
		MaxBodyBytes: a.cfg.MaxBodyBytes,
		CORSOrigins:  config.SplitList(a.cfg.CORSOrigins),
		Ready:        a.Ready,
		Version:      a.version,
	}, backends)
	if err != nil {
		return err
	}
	a.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return nil
}
