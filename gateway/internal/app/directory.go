package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/directory"
	"github.com/ponte-network/ponte/services/directory/hsds"
	"github.com/ponte-network/ponte/services/directory/seed"
)

// directoryModule runs the directory service: territories and the services of the territory.
func (a *App) directoryModule() modules.Module {
	m := &mirrors{}
	return modules.Module{
		Name:  "directory",
		Start: func(ctx context.Context) error { return a.startDirectory(ctx, m) },
		Stop:  m.stop,
	}
}

// mirrors runs the directory's mirror loops (--directory-mirror) in the background,
// from when the servers accept calls until the directory module stops.
type mirrors struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start dials every upstream and runs its loop on ctx, which stop cancels.
func (m *mirrors) start(ctx context.Context, a *App, svc *directory.Service) error {
	for _, up := range a.cfg.DirectoryMirrors {
		conn, err := a.dialRemote(up.Addr)
		if err != nil {
			return fmt.Errorf("directory mirror %s: %w", up.Name, err)
		}
		a.onClose(conn.Close)
		client := directoryv1.NewDirectoryServiceClient(conn)
		m.wg.Go(func() {
			_ = svc.Mirror(ctx, up.Name, client) // returns when ctx is cancelled
		})
	}
	a.tel.Logger.Info("directory mirroring", slog.Int("upstreams", len(a.cfg.DirectoryMirrors)))
	return nil
}

// stop cancels the loops and waits for them, before the store closes.
func (m *mirrors) stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil // no mirror configured
	}
	m.cancel()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		select {
		case <-done: // both ready: the loops did stop
			return nil
		default:
		}
		return fmt.Errorf("directory mirrors did not stop: %w", ctx.Err())
	}
}

func (a *App) startDirectory(ctx context.Context, m *mirrors) error {
	st, err := directory.OpenStore(ctx, a.storeConfig("directory"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := directory.New(directory.Deps{Store: st, Catalog: a.catalog, Logger: a.tel.Logger, MeterProvider: a.tel.MeterProvider})
	if err != nil {
		return err
	}
	created, err := svc.SeedTaxonomy(ctx)
	if err != nil {
		return fmt.Errorf("built-in taxonomy: %w", err)
	}
	if created > 0 {
		a.tel.Logger.Info("built-in taxonomy stored", slog.Int("terms", created))
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(directory.Policy())
	if a.cfg.Demo {
		a.afterServe(a.loadDemo)
	}
	if len(a.cfg.DirectoryMirrors) > 0 {
		mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		m.cancel = cancel
		a.afterServe(func(context.Context) error { return m.start(mctx, a, svc) })
	}
	a.afterServe(svc.WarmSearchIndex) // last: the other start-up tasks need no index
	a.addReady("directory", svc.Ready)
	for _, name := range directory.ServiceNames {
		a.srv.SetServing(name, true)
	}
	return nil
}

// loadDemo imports the fictional demo directory (package seed: organizations, locations
// and services of the programmes' territories) through the directory's own API, in
// process, as the development admin. The import is idempotent by id: loading it at
// every start changes nothing after the first.
func (a *App) loadDemo(ctx context.Context) error {
	raw, err := seed.Demo()
	if err != nil {
		return err
	}
	bundle, err := hsds.Decode(raw, "it")
	if err != nil {
		return fmt.Errorf("decode demo data: %w", err)
	}
	ctx, conn, err := a.demoLoader(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	counts := map[hsds.Outcome]int{}
	var firstErr error
	for _, r := range hsds.Import(ctx, directoryv1.NewDirectoryServiceClient(conn), bundle, nil) {
		counts[r.Outcome]++
		if r.Outcome == hsds.Failed && firstErr == nil {
			firstErr = fmt.Errorf("demo %s %s: %w", r.Kind, r.ID, r.Err)
		}
	}
	a.tel.Logger.Info("demo directory loaded (fictional data)", slog.Int("created", counts[hsds.Created]),
		slog.Int("updated", counts[hsds.Updated]), slog.Int("unchanged", counts[hsds.Unchanged]), slog.Int("failed", counts[hsds.Failed]))
	return firstErr
}
