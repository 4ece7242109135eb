// Package telemetry sets up OpenTelemetry for one Ponte process: a tracer provider whose
// exporter is chosen by the standard OTEL_* environment variables, a meter provider that
// feeds the Prometheus /metrics endpoint (and OTLP when asked), the W3C propagators, and a
// structured slog logger that stamps every record with the current trace and span ids.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config names the process to the telemetry backends.
type Config struct {
	ServiceName    string // service.name, e.g. "ponte"
	ServiceVersion string // service.version
	Environment    string // deployment.environment.name, e.g. "dev", "production"
	LogLevel       slog.Level
	LogOutput      io.Writer // where JSON logs go; nil = stderr
	// Getenv reads the OTEL_* variables that choose the resource, the sampler and the
	// console exporter; nil = os.Getenv. Tests pass their own. (The OTLP exporters read
	// their own OTEL_EXPORTER_OTLP_* settings from the process environment.)
	Getenv func(string) string
	// ConsoleOutput is where OTEL_TRACES_EXPORTER=console writes spans; nil = stdout.
	ConsoleOutput io.Writer
	// SpanProcessors are added to the tracer provider besides the exporter's (tests
	// record spans with tracetest.SpanRecorder).
	SpanProcessors []sdktrace.SpanProcessor
}

// Telemetry holds the providers of one process. Pass it to whatever needs to trace,
// measure or log; nothing in Ponte reads the OpenTelemetry globals.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	Logger         *slog.Logger
	registry       *prometheus.Registry
	shutdown       []func(context.Context) error
}

// New builds the providers. The resource is cfg's service name, version and environment,
// overridden by OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME as the specification says;
// the sampler is OTEL_TRACES_SAMPLER/OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on).
// Traces: OTEL_TRACES_EXPORTER (otlp, console, none) as the OpenTelemetry specification
// defines it, except that with neither it nor an OTEL_EXPORTER_OTLP_*ENDPOINT set, nothing
// is exported (a first run must not spam connection errors to a collector that is not
// there). Metrics are always served on MetricsHandler; OTEL_METRICS_EXPORTER=otlp|console
// pushes them too.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	res, err := newResource(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}
	sampler, err := newSampler(getenv)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:   prometheus.NewRegistry(),
	}

	spanExporter, err := newSpanExporter(ctx, cfg, getenv)
	if err != nil {
		return nil, fmt.Errorf("trace exporter: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	}
	if spanExporter != nil && !autoexport.IsNoneSpanExporter(spanExporter) {
		if getenv("OTEL_TRACES_EXPORTER") == "console" {
			// Synchronous export so that a console trace is complete when the request returns.
			tpOpts = append(tpOpts, sdktrace.WithSyncer(spanExporter))
		} else {
			tpOpts = append(tpOpts, sdktrace.WithBatcher(spanExporter))
		}
	}
	for _, sp := range cfg.SpanProcessors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	t.TracerProvider = tp
	t.shutdown = append(t.shutdown, tp.Shutdown)

	if err := t.registry.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := t.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	promReader, err := otelprom.New(otelprom.WithRegisterer(t.registry))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promReader)}
	if getenv("OTEL_METRICS_EXPORTER") != "" && getenv("OTEL_METRICS_EXPORTER") != "prometheus" {
		reader, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			return nil, fmt.Errorf("metric reader: %w", err)
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(reader))
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	t.MeterProvider = mp
	t.shutdown = append(t.shutdown, mp.Shutdown)

	out := cfg.LogOutput
	if out == nil {
		out = os.Stderr
	}
	t.Logger = slog.New(NewTraceHandler(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel})))
	return t, nil
}

// newSpanExporter picks the trace exporter: OTEL_TRACES_EXPORTER as the specification defines
// it (otlp, console, none), except that with neither it nor an OTLP endpoint set nothing is
// exported. The console exporter writes to cfg.ConsoleOutput.
func newSpanExporter(ctx context.Context, cfg Config, getenv func(string) string) (sdktrace.SpanExporter, error) {
	switch getenv("OTEL_TRACES_EXPORTER") {
	case "console":
		out := cfg.ConsoleOutput
		if out == nil {
			out = os.Stdout
		}
		return stdouttrace.New(stdouttrace.WithWriter(out))
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil // nothing configured: export nothing
		}
	}
	return autoexport.NewSpanExporter(ctx)
}

// MetricsHandler serves the process's metrics in the Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry})
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.shutdown) - 1; i >= 0; i-- {
		if err := t.shutdown[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry shutdown: %w", err)
	}
	return nil
}

// Discard returns telemetry that records nothing and logs nowhere, for tests and tools.
func Discard() *Telemetry {
	return &Telemetry{
		TracerProvider: noop.NewTracerProvider(),
		MeterProvider:  sdkmetric.NewMeterProvider(),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Logger:         slog.New(slog.DiscardHandler),
		registry:       prometheus.NewRegistry(),
	}
}
