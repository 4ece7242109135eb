package app

import (
	"context"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/directory"
)

// directoryModule runs the directory service: territories and the services of the territory.
func (a *App) directoryModule() modules.Module {
	return modules.Module{Name: "directory", Start: a.startDirectory}
}

func (a *App) startDirectory(ctx context.Context) error {
	st, err := directory.OpenStore(ctx, directory.StoreConfig{
		DatabaseURL:    a.cfg.Storage.DatabaseURL,
		SQLitePath:     a.cfg.Storage.SQLitePath("directory"),
		QueryExecMode:  a.cfg.Storage.QueryExecMode,
		MaxConns:       int32(a.cfg.Storage.MaxConns),
		TracerProvider: a.tel.TracerProvider,
		MeterProvider:  a.tel.MeterProvider,
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
