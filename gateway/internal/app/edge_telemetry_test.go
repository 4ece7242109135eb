package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/telemetry"
)

// syncBuffer is a bytes.Buffer the console exporter and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// consoleSpan is the part of a span the console exporter writes that the tests read.
type consoleSpan struct {
	Name       string
	SpanKind   int
	Attributes []struct {
		Key   string
		Value struct{ Value any }
	}
	Resource []struct {
		Key   string
		Value struct{ Value any }
	}
	Events []json.RawMessage
	Status struct{ Description string }
}

func (s consoleSpan) attr(key string) (string, bool) {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			b, _ := json.Marshal(kv.Value.Value)
			return strings.Trim(string(b), `"`), true
		}
	}
	return "", false
}

func TestConsoleExporterShowsServiceNameAndNoCaseIDs(t *testing.T) {
	t.Parallel()
	console := &syncBuffer{}
	env := map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "ponte-ambito-cremasco",
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging"}
	n := startNodeTelemetry(t, "", func(c *telemetry.Config) {
		c.Getenv = func(k string) string { return env[k] }
		c.ConsoleOutput = console
		c.SpanProcessors = nil
	})
	op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	r := n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": "Amina", "taxCode": "RSSMRA80A41H501U", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
	if r.status/100 != 2 {
		t.Fatalf("create person = %d %s", r.status, r.body)
	}
	person := decode[map[string]any](t, r)["id"].(string)
	r = n.do(t, "POST", "/v1/cases", op, map[string]any{"personId": person, "municipalityCode": "019035", "category": "CATEGORY_RENEWAL"})
	if r.status/100 != 2 {
		t.Fatalf("create case = %d %s", r.status, r.body)
	}
	caseID := decode[caseJSON](t, r).ID
	secrets := []string{person, caseID, "RSSMRA80A41H501U", "Amina"}
	for _, path := range []string{"/v1/cases/" + caseID, "/v1/persons/" + person, "/v1/cases/" + caseID + "/events",
		"/v1/persons/RSSMRA80A41H501U", "/v1/cases/RSSMRA80A41H501U/nothing/here"} {
		n.do(t, "GET", path, op, nil)
	}
	n.do(t, "GET", "/v1/territories/019035", "", nil)

	var spans []consoleSpan
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans = spans[:0]
		dec := json.NewDecoder(bytes.NewReader(console.Bytes()))
		for {
			var s consoleSpan
			if err := dec.Decode(&s); err != nil {
				break
			}
			spans = append(spans, s)
		}
		if hasSpan(spans, "GET /v1/territories/{code}") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(spans) == 0 {
		t.Fatalf("the console exporter wrote no span: %s", console.Bytes())
	}
	for _, s := range spans {
		res := map[string]any{}
		for _, kv := range s.Resource {
			res[kv.Key] = kv.Value.Value
		}
		if res["service.name"] != "ponte-ambito-cremasco" || res["deployment.environment.name"] != "staging" {
			t.Fatalf("span %q resource = %v, want service.name from OTEL_SERVICE_NAME and the environment from OTEL_RESOURCE_ATTRIBUTES", s.Name, res)
		}
		raw, _ := json.Marshal(s)
		for _, secret := range secrets {
			if strings.Contains(string(raw), secret) {
				t.Errorf("span %q carries %q: %s", s.Name, secret, raw)
			}
		}
		for _, key := range []string{"client.address", "network.peer.address", "user_agent.original"} {
			if v, ok := s.attr(key); ok && s.SpanKind == int(trace.SpanKindServer) && strings.HasPrefix(s.Name, "GET") {
				t.Errorf("span %q records %s=%s by default", s.Name, key, v)
			}
		}
	}
	for _, want := range []struct{ name, route, path string }{
		{"GET /v1/cases/{id}", "/v1/cases/{id}", "/v1/cases/{id}"},
		{"GET /v1/persons/{id}", "/v1/persons/{id}", "/v1/persons/{id}"},
		{"GET /v1/cases/{case_id}/events", "/v1/cases/{case_id}/events", "/v1/cases/{case_id}/events"},
		{"GET /v1/territories/{code}", "/v1/territories/{code}", "/v1/territories/019035"},
		{"GET", "", "/v1/cases/…"},
	} {
		s, ok := findSpan(spans, want.name, want.path)
		if !ok {
			t.Errorf("no edge span named %q with url.path %q", want.name, want.path)
			continue
		}
		if route, _ := s.attr("http.route"); route != want.route {
			t.Errorf("span %q http.route = %q, want %q", want.name, route, want.route)
		}
	}
}

func hasSpan(spans []consoleSpan, name string) bool {
	for _, s := range spans {
		if s.Name == name {
			return true
		}
	}
	return false
}

func findSpan(spans []consoleSpan, name, path string) (consoleSpan, bool) {
	for _, s := range spans {
		if p, _ := s.attr("url.path"); s.Name == name && p == path {
			return s, true
		}
	}
	return consoleSpan{}, false
}

func TestEdgeMetricsCarryTheMatchedRoute(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	for _, path := range []string{"/v1/territories/019035", "/v1/territories/019", "/v1/territories?parent=019", "/hsds/services?per_page=1", "/v1/nowhere/at/all"} {
		n.do(t, "GET", path, "", nil)
	}
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for {
		body = string(n.do(t, "GET", "/metrics", "", nil).body)
		if strings.Contains(body, `http_route="/hsds/services"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{`http_route="/v1/territories/{code}"`, `http_route="/v1/territories"`, `http_route="/hsds/services"`,
		// The embedded store's pools, as PostgreSQL's pgxpool metrics.
		`ponte_pool="write",ponte_schema="directory"`, `ponte_pool="read",ponte_schema="cases"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count") && strings.Contains(line, `http_route="/"`) {
			t.Errorf("a request is labelled with the catch-all route: %s", line)
		}
		if strings.Contains(line, "019035") {
			t.Errorf("a metric carries a concrete path: %s", line)
		}
	}
}

func TestClientAddressIsTracedOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want bool
	}{
		{"by default the edge's spans carry neither the client's address nor its user agent", nil, false},
		{"with --trace-client-info they carry both", []string{"--trace-client-info"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := startNode(t, "", tt.args...)
			r := n.do(t, "GET", "/v1/territories/019", "", nil, "User-Agent", "ponte-test-agent/1.0", "X-Forwarded-For", "203.0.113.7")
			if r.status != http.StatusOK {
				t.Fatalf("GET = %d", r.status)
			}
			var edge sdktrace.ReadOnlySpan
			deadline := time.Now().Add(5 * time.Second)
			for edge == nil && time.Now().Before(deadline) {
				for _, s := range n.spans.Ended() {
					if s.Name() == "GET /v1/territories/{code}" {
						edge = s
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			if edge == nil {
				t.Fatal("no edge span")
			}
			got := map[string]string{}
			for _, kv := range edge.Attributes() {
				got[string(kv.Key)] = kv.Value.Emit()
			}
			for _, key := range []string{"client.address", "network.peer.address", "user_agent.original"} {
				if _, ok := got[key]; ok != tt.want {
					t.Errorf("span attribute %s present = %v, want %v (attributes %v)", key, ok, tt.want, got)
				}
			}
			if tt.want && (got["client.address"] != "203.0.113.7" || got["user_agent.original"] != "ponte-test-agent/1.0") {
				t.Errorf("client attributes = %v, want the forwarded address and the agent", got)
			}
		})
	}
}
