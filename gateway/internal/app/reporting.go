package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"
	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/reporting"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/federation"
)

// reportingModule runs the observatory: it follows the case feed (and the mediators'
// and housing feeds, when their services run here or have an endpoint) as
// service:reporting and serves the indicators.
func (a *App) reportingModule() modules.Module {
	m := &reportingRun{}
	return modules.Module{Name: "reporting", Start: func(ctx context.Context) error { return a.startReporting(ctx, m) }, Stop: m.stop}
}

// reportingRun holds what the module's Stop ends.
type reportingRun struct{ cancel context.CancelFunc }

func (m *reportingRun) stop(context.Context) error {
	if m.cancel != nil {
		m.cancel()
	}
	return nil
}

func (a *App) startReporting(ctx context.Context, m *reportingRun) error {
	cfg := a.cfg.Reporting
	rules, err := disclosure.NewConfig(int64(cfg.Threshold))
	if err != nil {
		return fmt.Errorf("--reporting-threshold: %w", err)
	}
	secret, err := reportingSecret(cfg.SecretFile, a.cfg.Storage.DataDir)
	if err != nil {
		return err
	}
	deps := reporting.Deps{Territory: a.catalog, Secret: secret, Disclosure: rules, Logger: a.tel.Logger, Deadline: cfg.Deadline}
	if len(cfg.Districts) > 0 {
		// A region node: it reads its districts' aggregates, not a case feed.
		tokens, err := a.serviceTokens(ctx, "reporting")
		if err != nil {
			return err
		}
		for _, d := range cfg.Districts {
			conn, err := a.dialRemote(d.Addr, grpc.WithPerRPCCredentials(auth.NewServiceCredentials(tokens, false)))
			if err != nil {
				return fmt.Errorf("--reporting-district %s: %w", d.Name, err)
			}
			a.onClose(conn.Close)
			deps.Districts = append(deps.Districts, federation.Node{Name: d.Name, Client: reportingv1.NewReportingServiceClient(conn)})
		}
	} else {
		conn, err := a.serviceConn(ctx, "reporting", "cases")
		if err != nil {
			return err
		}
		deps.Cases = casesv1.NewCaseServiceClient(conn)
		// The other feeds are followed when their service runs here or has an endpoint.
		for _, feed := range []struct {
			service string
			set     func(*grpc.ClientConn)
		}{
			{"mediators", func(c *grpc.ClientConn) { deps.Mediators = mediatorsv1.NewMediatorServiceClient(c) }},
			{"housing", func(c *grpc.ClientConn) { deps.Housing = housingv1.NewHousingServiceClient(c) }},
			{"directory", func(c *grpc.ClientConn) { deps.Directory = directoryv1.NewDirectoryServiceClient(c) }},
		} {
			ok, err := a.hasService(feed.service)
			if err != nil {
				return err
			}
			if !ok {
				a.tel.Logger.Info("reporting: feed not followed, its service is neither here nor given an endpoint", "service", feed.service)
				continue
			}
			conn, err := a.serviceConn(ctx, "reporting", feed.service)
			if err != nil {
				return err
			}
			feed.set(conn)
		}
	}
	st, err := reporting.OpenStore(ctx, a.storeConfig("reporting"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	deps.Store = st
	svc, err := reporting.New(deps)
	if err != nil {
		return err
	}
	unregister, err := svc.RegisterMetrics(a.tel.MeterProvider.Meter("github.com/ponte-network/ponte/services/reporting"))
	if err != nil {
		return err
	}
	a.onClose(unregister)
	svc.Register(a.srv.Registrar())
	a.addPolicy(reporting.Policy())
	a.addReady("reporting", svc.Ready)
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	a.afterServe(func(context.Context) error {
		go svc.Follow(fctx)
		return nil
	})
	for _, name := range reporting.ServiceNames {
		a.srv.SetServing(name, true)
	}
	return nil
}

// reportingSecret reads the secret file, or in development keeps a generated one in
// the data directory, so that pseudonyms stay the same across restarts.
func reportingSecret(file, dataDir string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--reporting-secret-file: %w", err)
		}
		return b, nil
	}
	path := filepath.Join(dataDir, "reporting-secret")
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reporting secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("reporting secret: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("reporting secret: %w", err)
	}
	return b, nil
}
