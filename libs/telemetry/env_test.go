package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-network/ponte/libs/telemetry"
)

func TestResourceFollowsTheOTELVariablesOverTheDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		env             map[string]string
		wantService     string
		wantEnvironment string
		wantExtra       map[string]string
	}{
		{name: "without variables the process's own names are used",
			wantService: "ponte", wantEnvironment: "dev"},
		{name: "OTEL_SERVICE_NAME replaces the service name",
			env:         map[string]string{"OTEL_SERVICE_NAME": "ponte-crema"},
			wantService: "ponte-crema", wantEnvironment: "dev"},
		{name: "OTEL_RESOURCE_ATTRIBUTES replaces name and environment and adds attributes",
			env:         map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=edge-a, deployment.environment.name=production,k8s.namespace.name=ponte%20lombardia"},
			wantService: "edge-a", wantEnvironment: "production", wantExtra: map[string]string{"k8s.namespace.name": "ponte lombardia"}},
		{name: "OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES",
			env:         map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=edge-a", "OTEL_SERVICE_NAME": "edge-b"},
			wantService: "edge-b", wantEnvironment: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.env = withConsole(tt.env)
			var out bytes.Buffer
			tel := newTelemetry(t, tt.env, &out)
			_, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "op")
			span.End()
			res := exportedResource(t, out.Bytes())
			if res["service.name"] != tt.wantService {
				t.Errorf("service.name = %q, want %q", res["service.name"], tt.wantService)
			}
			if res["deployment.environment.name"] != tt.wantEnvironment {
				t.Errorf("deployment.environment.name = %q, want %q", res["deployment.environment.name"], tt.wantEnvironment)
			}
			if res["service.version"] != "1.2.3" {
				t.Errorf("service.version = %q, want the process's version", res["service.version"])
			}
			for k, v := range tt.wantExtra {
				if res[k] != v {
					t.Errorf("%s = %q, want %q", k, res[k], v)
				}
			}
		})
	}
}

func TestMalformedOTELVariablesAreRefusedAtStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a resource attribute without a value", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{"a resource attribute with bad percent-encoding", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=%zz"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{"an unknown sampler", map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER"},
		{"a ratio above one", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"a ratio that is not a number", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := telemetry.New(context.Background(), telemetry.Config{
				ServiceName: "ponte", LogOutput: &bytes.Buffer{}, Getenv: func(k string) string { return tt.env[k] },
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestSamplerFollowsOTELTracesSampler(t *testing.T) {
	t.Parallel()
	sampledParent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	tests := []struct {
		name        string
		env         map[string]string
		wantRoots   int // of 200 root spans
		wantChild   bool
		tolerateFew bool // the ratio samplers: roughly half
	}{
		{name: "unset samples every root and follows a sampled parent", wantRoots: 200, wantChild: true},
		{name: "always_off samples nothing, not even under a sampled parent",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, wantRoots: 0, wantChild: false},
		{name: "parentbased_always_off samples no root but follows a sampled parent",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_off"}, wantRoots: 0, wantChild: true},
		{name: "traceidratio 0.5 samples about half of the roots",
			env:       map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"},
			wantRoots: 100, tolerateFew: true, wantChild: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tel, err := telemetry.New(context.Background(), telemetry.Config{
				ServiceName: "ponte", LogOutput: &bytes.Buffer{}, Getenv: func(k string) string { return tt.env[k] },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			tracer := tel.TracerProvider.Tracer("test")
			roots := 0
			for range 200 {
				_, s := tracer.Start(context.Background(), "root")
				if s.SpanContext().IsSampled() {
					roots++
				}
				s.End()
			}
			_, child := tracer.Start(sampledParent, "child")
			child.End()
			if tt.tolerateFew {
				if roots < 60 || roots > 140 {
					t.Errorf("sampled %d of 200 roots, want about %d", roots, tt.wantRoots)
				}
			} else if roots != tt.wantRoots {
				t.Errorf("sampled %d of 200 roots, want %d", roots, tt.wantRoots)
			}
			if child.SpanContext().IsSampled() != tt.wantChild {
				t.Errorf("child of a sampled parent sampled = %v, want %v", child.SpanContext().IsSampled(), tt.wantChild)
			}
		})
	}
}

func withConsole(env map[string]string) map[string]string {
	out := map[string]string{"OTEL_TRACES_EXPORTER": "console"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

func newTelemetry(t *testing.T, env map[string]string, console *bytes.Buffer) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName: "ponte", ServiceVersion: "1.2.3", Environment: "dev",
		LogOutput: &bytes.Buffer{}, ConsoleOutput: console,
		Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

// exportedResource reads the resource attributes of the first span the console exporter wrote.
func exportedResource(t *testing.T, console []byte) map[string]string {
	t.Helper()
	var span struct {
		Resource []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	dec := json.NewDecoder(bytes.NewReader(console))
	if err := dec.Decode(&span); err != nil {
		t.Fatalf("console exporter output does not parse: %v: %s", err, console)
	}
	out := map[string]string{}
	for _, kv := range span.Resource {
		if s, ok := kv.Value.Value.(string); ok {
			out[kv.Key] = s
		}
	}
	return out
}
