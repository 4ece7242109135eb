// Package app is the composition root of the ponte binary: it turns a configuration into
// a running process made of the modules that -target selects (services, the REST edge),
// started in dependency order on one gRPC server and stopped in reverse.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/libs/server"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/telemetry"
	"github.com/ponte-network/ponte/libs/territory"
)

// DevTokenTTL is how long the admin token printed in dev mode is valid.
const DevTokenTTL = 24 * time.Hour

// DevIssuer is the issuer of tokens signed with the development key.
const DevIssuer = "ponte-dev"

// App is one Ponte process.
type App struct {
	cfg     config.Serve
	version string
	out     io.Writer // where the start-up banner goes

	tel      *telemetry.Telemetry
	catalog  *territory.Catalog
	verifier *auth.Verifier
	devKey   []byte
	policy   auth.Policy
	srv      *server.Server
	manager  *modules.Manager

	// started is set, and startedUp closed, once the start-up tasks (onServe) are done;
	// until then the process is not ready.
	started   atomic.Bool
	startedUp chan struct{}

	mu      sync.Mutex
	ready   []readiness // what /readyz and gRPC health ask
	closers []func() error
	// onServe runs once the servers accept calls (e.g. loading demo data through the API).
	onServe []func(context.Context) error
	httpSrv *http.Server
	// edgeConns tells, at shutdown, whether the REST edge still serves requests.
	edgeConns edgeConns

	grpcLis, httpLis net.Listener
	// debugSrv serves the profiling endpoints on debugLis when --debug-addr is set.
	debugSrv *http.Server
	debugLis net.Listener
}

// readiness is one check of /readyz.
type readiness struct {
	name  string
	check func(context.Context) error
}

// Options are what the process takes from its caller besides the configuration.
type Options struct {
	Version string
	// Out receives the start-up banner; nil = no banner.
	Out io.Writer
	// Telemetry, if set, replaces the providers built from OTEL_* (tests record spans).
	Telemetry *telemetry.Telemetry
}

// New prepares a process: telemetry, territory catalog, token verifier, gRPC server and
// module graph. Nothing listens yet.
func New(ctx context.Context, cfg config.Serve, opts Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tel := opts.Telemetry
	if tel == nil {
		level, _ := cfg.Level()
		var err error
		tel, err = telemetry.New(ctx, telemetry.Config{
			ServiceName: "ponte", ServiceVersion: opts.Version, Environment: cfg.Environment, LogLevel: level,
		})
		if err != nil {
			return nil, err
		}
	}
	a := &App{cfg: cfg, version: opts.Version, out: opts.Out, tel: tel, policy: auth.Policy{}, manager: modules.NewManager(),
		startedUp: make(chan struct{})}
	var err error
	if a.catalog, err = territory.Load(); err != nil {
		return nil, err
	}
	vc := auth.VerifierConfig{
		KeysFile: cfg.Auth.KeysFile, JWKSURL: cfg.Auth.JWKSURL,
		Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience, Leeway: 30 * time.Second, Logger: tel.Logger,
	}
	if cfg.Auth.DevKey() {
		if a.devKey, err = auth.LoadOrCreateDevKey(cfg.Storage.DataDir); err != nil {
			return nil, fmt.Errorf("development signing key: %w", err)
		}
		vc.HMACKey = a.devKey
		tel.Logger.Warn("no --jwt-keys-file or --jwks-url: tokens are verified with the development key of the data directory; do not use this in production",
			slog.String("data_dir", cfg.Storage.DataDir))
	}
	if a.verifier, err = auth.NewVerifier(ctx, vc); err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	if a.srv, err = server.New(server.Config{Telemetry: tel, Verifier: a.verifier, Policy: a.policy}); err != nil {
		return nil, err
	}
	if err := a.registerModules(); err != nil {
		return nil, err
	}
	return a, nil
}

// Targets lists what -target accepts.
func (a *App) Targets() []string { return a.manager.Targets() }

// Start starts the selected modules and opens the listeners; Run serves on them.
func (a *App) Start(ctx context.Context) error {
	if err := a.manager.Start(ctx, a.cfg.TargetList()); err != nil {
		return err
	}
	if err := a.policy.Validate(); err != nil {
		return errors.Join(err, a.stopModules(ctx))
	}
	var err error
	if a.grpcLis, err = net.Listen("tcp", a.cfg.GRPCAddr); err != nil {
		return errors.Join(fmt.Errorf("listen on --grpc-addr: %w", err), a.stopModules(ctx))
	}
	if a.httpSrv != nil {
		if a.httpLis, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
			_ = a.grpcLis.Close()
			return errors.Join(fmt.Errorf("listen on --http-addr: %w", err), a.stopModules(ctx))
		}
	}
	if a.cfg.DebugAddr != "" {
		if a.debugLis, err = net.Listen("tcp", a.cfg.DebugAddr); err != nil {
			_ = a.grpcLis.Close()
			if a.httpLis != nil {
				_ = a.httpLis.Close()
			}
			return errors.Join(fmt.Errorf("listen on --debug-addr: %w", err), a.stopModules(ctx))
		}
		a.debugSrv = &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	return nil
}

// debugHandler serves Go's profiling endpoints under /debug/pprof/.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// GRPCAddr is the address the gRPC server listens on (after Start).
func (a *App) GRPCAddr() net.Addr { return a.grpcLis.Addr() }

// HTTPAddr is the address the REST edge listens on, or nil without a gateway.
func (a *App) HTTPAddr() net.Addr {
	if a.httpLis == nil {
		return nil
	}
	return a.httpLis.Addr()
}

// Run serves until ctx is done, then shuts down gracefully: watch streams end at once
// with the cursor to resume from; the REST edge stops taking requests and finishes those
// in flight, then the gRPC server does the same, within --shutdown-grace; then modules
// stop in reverse order (ModuleStopBudget) and telemetry is flushed (TelemetryFlushBudget).
func (a *App) Run(ctx context.Context) error {
	log := a.tel.Logger
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.srv.Serve(a.grpcLis) })
	if a.httpSrv != nil {
		g.Go(func() error {
			if err := a.httpSrv.Serve(a.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("REST edge: %w", err)
			}
			return nil
		})
	}
	if a.debugSrv != nil {
		g.Go(func() error {
			if err := a.debugSrv.Serve(a.debugLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("debug endpoints: %w", err)
			}
			return nil
		})
	}
	attrs := []any{slog.String("version", a.version), slog.Any("modules", a.services()), slog.String("grpc_addr", a.grpcLis.Addr().String())}
	if addr := a.HTTPAddr(); addr != nil {
		attrs = append(attrs, slog.String("http_addr", addr.String()))
	}
	if a.debugLis != nil {
		attrs = append(attrs, slog.String("debug_addr", a.debugLis.Addr().String()))
	}
	log.Info("ponte serving", attrs...)
	a.mu.Lock()
	hooks := a.onServe
	a.mu.Unlock()
	for _, hook := range hooks {
		if err := hook(gctx); err != nil {
			log.Error("start-up task failed", slog.String("error", err.Error()))
		}
	}
	// Ready only now: a search right after /readyz answers 200 sees the demo data and a
	// warm index. The banner comes last, so that no start-up log line buries it.
	a.started.Store(true)
	close(a.startedUp)
	a.srv.SetServing("", true)
	if gctx.Err() == nil {
		if err := a.Banner(); err != nil {
			log.Error("start-up banner", slog.String("error", err.Error()))
		}
	}

	<-gctx.Done()
	log.Info("shutting down: ending watch streams, finishing in-flight calls", slog.String("grace", a.cfg.Grace.String()))
	// Watches never finish by themselves: they end first, with the cursor to resume from,
	// so that neither the REST edge nor the gRPC server waits the grace period for them.
	a.srv.EndStreams()
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Grace)
	defer cancel()
	var errs []error
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(graceCtx); err != nil {
			// Only requests cut short are a failure: connections that never sent one
			// (see edgeConns) are just closed.
			if n := a.edgeConns.serving(); n > 0 {
				errs = append(errs, fmt.Errorf("REST edge shutdown: %d requests still in flight: %w", n, err))
			}
			_ = a.httpSrv.Close()
		}
	}
	if a.debugSrv != nil {
		_ = a.debugSrv.Close() // a profile being taken is cut short
	}
	a.srv.Shutdown(graceCtx)
	if err := g.Wait(); err != nil {
		errs = append(errs, err)
	}
	// Stopping modules and flushing telemetry get budgets of their own: the grace period
	// may have been spent on calls in flight.
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), ModuleStopBudget)
	defer cancelStop()
	errs = append(errs, a.stopModules(stopCtx))
	flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), TelemetryFlushBudget)
	defer cancelFlush()
	if err := a.tel.Shutdown(flushCtx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Shutdown budgets, after the grace period for calls in flight (--shutdown-grace).
const (
	// ModuleStopBudget bounds stopping the modules (background loops, stores).
	ModuleStopBudget = 10 * time.Second
	// TelemetryFlushBudget bounds flushing the last spans and metrics.
	TelemetryFlushBudget = 5 * time.Second
)

func (a *App) stopModules(ctx context.Context) error {
	err := a.manager.Stop(ctx)
	a.mu.Lock()
	closers := a.closers
	a.closers = nil
	a.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		err = errors.Join(err, closers[i]())
	}
	return err
}

// services lists the modules this process runs, without groups such as "all".
func (a *App) services() []string {
	var out []string
	for _, name := range a.manager.Started() {
		if name != ModuleAll {
			out = append(out, name)
		}
	}
	return out
}

// StartedUp is closed once Run has done the start-up tasks (demo data, index warm-up):
// from then on the process can be ready.
func (a *App) StartedUp() <-chan struct{} { return a.startedUp }

// Ready reports whether every module of the process can serve.
func (a *App) Ready(ctx context.Context) error {
	a.mu.Lock()
	checks := slices.Clone(a.ready)
	a.mu.Unlock()
	var errs []error
	if !a.started.Load() {
		errs = append(errs, errors.New("start-up tasks (demo data, search index) still running"))
	}
	for _, c := range checks {
		if err := c.check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *App) addReady(name string, check func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ready = append(a.ready, readiness{name: name, check: check})
}

func (a *App) onClose(f func() error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closers = append(a.closers, f)
}

// storeConfig says where service keeps its data, traced and measured with the process's
// telemetry.
func (a *App) storeConfig(service string) storage.Config {
	c := a.cfg.Storage.For(service)
	c.TracerProvider, c.MeterProvider = a.tel.TracerProvider, a.tel.MeterProvider
	return c
}

// afterServe schedules f to run once the servers accept calls.
func (a *App) afterServe(f func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onServe = append(a.onServe, f)
}

// addPolicy merges a module's method rules into the server's policy (before serving).
func (a *App) addPolicy(p auth.Policy) {
	for method, rule := range p {
		a.policy[method] = rule
	}
}

// dialRemote connects to a remote service with tracing; credentials are the caller's,
// forwarded per call by the gateway, unless opts add a service principal's.
func (a *App) dialRemote(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(server.ClientStatsHandler(a.tel)),
	}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// Banner writes what a first-time user needs: where the edge listens and, in dev mode,
// a ready-to-use admin token (as Vault's dev server prints its root token).
func (a *App) Banner() error {
	if a.out == nil {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPonte %s is running: %s\n", a.version, strings.Join(a.services(), ", "))
	if addr := a.HTTPAddr(); addr != nil {
		fmt.Fprintf(&b, "  REST edge:  http://%s  (OpenAPI: /openapi.json)\n", hostPort(addr))
	}
	fmt.Fprintf(&b, "  gRPC:       %s  (reflection on: grpcurl -plaintext %s list)\n", hostPort(a.GRPCAddr()), hostPort(a.GRPCAddr()))
	if a.cfg.Storage.Embedded() {
		fmt.Fprintf(&b, "  Storage:    embedded, in %s\n", a.cfg.Storage.DataDir)
	} else {
		fmt.Fprintf(&b, "  Storage:    PostgreSQL\n")
	}
	if a.devKey != nil && a.cfg.Storage.Embedded() {
		tok, err := auth.MintHS256(a.devKey, auth.Principal{Subject: "dev-admin", Roles: []string{auth.RoleAdmin}}, DevIssuer, DevTokenTTL, time.Now())
		if err != nil {
			return fmt.Errorf("mint dev admin token: %w", err)
		}
		fmt.Fprintf(&b, "\nDevelopment mode: tokens are signed with the key in %s.\nAdmin token (valid %s):\n\n  export PONTE_TOKEN=%s\n\n",
			a.cfg.Storage.DataDir, DevTokenTTL, tok)
	}
	_, err := io.WriteString(a.out, b.String())
	return err
}

// hostPort prints a listen address the way a client on this machine dials it.
func hostPort(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
