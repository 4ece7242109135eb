package app

import (
	"context"
	"fmt"
	"sync"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/cases"
	"github.com/ponte-network/ponte/services/cases/districts"
)

// casesModule runs the cases service: persons, their cases and the districts' sync.
func (a *App) casesModule() modules.Module {
	f := &districtFollower{}
	return modules.Module{Name: "cases", Start: func(ctx context.Context) error { return a.startCases(ctx, f) }, Stop: f.stop}
}

// districtFollower runs the cases service's copy of the directory's districts.
type districtFollower struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (f *districtFollower) stop(ctx context.Context) error {
	if f.cancel == nil {
		return nil
	}
	f.cancel()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cases: the districts follower did not stop: %w", ctx.Err())
	}
}

func (a *App) startCases(ctx context.Context, f *districtFollower) error {
	// The districts come from the directory over gRPC, as service:cases: in process
	// when the directory runs here, else from --directory-endpoint.
	conn, err := a.serviceConn(ctx, "cases", "directory")
	if err != nil {
		return err
	}
	copy := districts.NewCopy(directoryv1.NewDirectoryServiceClient(conn), districts.Options{
		MaxStale: a.cfg.DistrictsMaxStale, Logger: a.tel.Logger,
	})
	st, err := cases.OpenStore(ctx, a.storeConfig("cases"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := cases.New(cases.Deps{Store: st, Catalog: a.catalog, Districts: copy})
	if err != nil {
		return err
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(cases.Policy())
	a.addReady("cases", svc.Ready)
	// Not a readiness check: reads need no districts, and writes wait for the first
	// catch-up (districts.FirstWait), then answer UNAVAILABLE while the copy is stale.
	// The follower ends when the process starts shutting down (ctx), so that its watch
	// stream never holds the gRPC server's graceful stop; Stop waits for it.
	fctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	a.afterServe(func(context.Context) error {
		f.wg.Go(func() { _ = copy.Run(fctx) })
		return nil
	})
	for _, name := range cases.ServiceNames {
		a.srv.SetServing(name, true)
	}
	return nil
}
