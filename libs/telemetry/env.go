package telemetry

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource describes the process: the SDK's own attributes, then cfg's service name,
// version and environment as defaults, then OTEL_RESOURCE_ATTRIBUTES over them, then
// OTEL_SERVICE_NAME over everything — the precedence the OpenTelemetry specification
// gives these variables.
func newResource(ctx context.Context, cfg Config, getenv func(string) string) (*resource.Resource, error) {
	env, err := envAttributes(getenv)
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			semconv.ServiceName(cfg.ServiceName),
			semconv.ServiceVersion(cfg.ServiceVersion),
			semconv.DeploymentEnvironmentNameKey.String(cfg.Environment),
		),
		resource.WithAttributes(env...), // later attributes win
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	return res, nil
}

// envAttributes reads OTEL_RESOURCE_ATTRIBUTES (comma-separated key=value pairs, values
// percent-encoded) and OTEL_SERVICE_NAME. A malformed list is refused as a whole, as the
// specification asks, so that a typo is seen at start rather than as a missing label.
func envAttributes(getenv func(string) string) ([]attribute.KeyValue, error) {
	var out []attribute.KeyValue
	if raw := strings.TrimSpace(getenv("OTEL_RESOURCE_ATTRIBUTES")); raw != "" {
		for _, pair := range strings.Split(raw, ",") {
			k, v, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", strings.TrimSpace(pair))
			}
			val, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: value of %s: %w", k, err)
			}
			out = append(out, attribute.String(k, val))
		}
	}
	if name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); name != "" {
		out = append(out, semconv.ServiceName(name))
	}
	return out, nil
}

// newSampler builds the sampler OTEL_TRACES_SAMPLER names, with OTEL_TRACES_SAMPLER_ARG
// as the ratio of the traceidratio samplers (default 1). Unset: parentbased_always_on,
// so a caller's sampling decision is followed and every root request is sampled.
func newSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	ratio := func() (float64, error) {
		arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio between 0 and 1", arg)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q: not supported (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)", name)
}
