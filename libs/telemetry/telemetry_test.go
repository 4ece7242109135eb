package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ponte-network/ponte/libs/telemetry"
)

func TestLogsCarryTraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	env := map[string]string{"OTEL_TRACES_EXPORTER": "none"}
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName: "ponte-test", ServiceVersion: "test", Environment: "test",
		LogOutput: &buf, Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	ctx, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "op")
	tel.Logger.InfoContext(ctx, "inside a span", slog.String("k", "v"))
	span.End()
	tel.Logger.Info("outside any span")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2: %q", len(lines), buf.String())
	}
	var inside, outside map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	if inside["trace_id"] != span.SpanContext().TraceID().String() || inside["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("log inside span = %v, want trace_id %s", inside, span.SpanContext().TraceID())
	}
	if _, ok := outside["trace_id"]; ok {
		t.Errorf("log outside any span has a trace_id: %v", outside)
	}
}

func TestMetricsHandlerServesPrometheusText(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName: "ponte-test", LogOutput: &bytes.Buffer{}, Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	counter, err := tel.MeterProvider.Meter("test").Int64Counter("ponte.test.calls")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 3)

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"ponte_test_calls_total", "go_goroutines", `service_name="ponte-test"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
