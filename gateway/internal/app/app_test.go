package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/gateway/internal/app"
	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/telemetry"
	"github.com/ponte-network/ponte/libs/territory"
)

// node is a running ponte process for one test.
type node struct {
	base    string // http://127.0.0.1:port
	grpc    string // 127.0.0.1:port
	debug   string // 127.0.0.1:port of the profiling endpoints, when started with --debug-addr
	dataDir string
	spans   *tracetest.SpanRecorder
	stop    func() // stops the node (once; also at cleanup)
}

// token mints a token with the node's development key.
func (n *node) token(t testing.TB, p auth.Principal) string {
	t.Helper()
	key, err := auth.LoadOrCreateDevKey(n.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.MintHS256(key, p, app.DevIssuer, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// startNode runs `ponte serve -target=all` on loopback ports, on the embedded store or
// on PostgreSQL when databaseURL is set, and stops it (checking a clean exit) at cleanup.
func startNode(t testing.TB, databaseURL string, extraArgs ...string) *node {
	t.Helper()
	return startNodeTelemetry(t, databaseURL, nil, extraArgs...)
}

// startNodeTelemetry is startNode with the telemetry configuration edited by edit (nil: the
// default, every span recorded in node.spans and nothing exported).
func startNodeTelemetry(t testing.TB, databaseURL string, edit func(*telemetry.Config), extraArgs ...string) *node {
	t.Helper()
	n := &node{dataDir: t.TempDir(), spans: tracetest.NewSpanRecorder()}
	var cfg config.Serve
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterServe(fs)
	args := append([]string{"--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--data-dir=" + n.dataDir, "--shutdown-grace=5s",
		// Every test client comes from 127.0.0.1: benchmarks and polling tests are not limited
		// unless they ask (TestRateLimits...).
		"--rate-limit=0"}, extraArgs...)
	if databaseURL != "" {
		args = append(args, "--database-url="+databaseURL)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	n.dataDir = cfg.Storage.DataDir // extraArgs may name one: a restart on the same data
	ctx, cancel := context.WithCancel(context.Background())
	telCfg := telemetry.Config{
		ServiceName: "ponte-test", LogOutput: io.Discard,
		Getenv:         func(string) string { return "" },
		SpanProcessors: []sdktrace.SpanProcessor{n.spans},
	}
	if edit != nil {
		edit(&telCfg)
	}
	tel, err := telemetry.New(ctx, telCfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, app.Options{Version: "test", Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if addr := a.HTTPAddr(); addr != nil {
		n.base = "http://" + addr.String()
	}
	n.grpc = a.GRPCAddr().String()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// Like a deployment's probe, wait until the start-up tasks are done (tests that need
	// the moment before pass --demo and poll /readyz themselves).
	if !slices.Contains(extraArgs, "--demo") {
		select {
		case <-a.StartedUp():
		case <-time.After(60 * time.Second):
			t.Fatal("start-up tasks not done 60s after start")
		}
	}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("ponte did not stop cleanly: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("ponte did not stop within 10s")
			}
		})
	}
	t.Cleanup(n.stop)
	return n
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	problem map[string]any
}

func (n *node) do(t testing.TB, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: raw}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if err := json.Unmarshal(raw, &r.problem); err != nil {
			t.Fatalf("problem+json body does not parse: %v: %s", err, raw)
		}
	}
	return r
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
	return v
}

type territoryJSON struct {
	Code              string   `json:"code"`
	Name              string   `json:"name"`
	Level             string   `json:"level"`
	Parent            string   `json:"parent"`
	ProvinceCode      string   `json:"provinceCode"`
	RegionCode        string   `json:"regionCode"`
	DistrictCodes     []string `json:"districtCodes"`
	MunicipalityCodes []string `json:"municipalityCodes"`
	MunicipalityCount int      `json:"municipalityCount"`
}

type listJSON struct {
	Territories   []territoryJSON `json:"territories"`
	NextPageToken string          `json:"nextPageToken"`
	TotalSize     int             `json:"totalSize"`
}

// stores runs f against a node on each store: the embedded one and PostgreSQL, started
// with args.
func stores(t *testing.T, f func(t *testing.T, n *node), args ...string) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, startNode(t, "", args...))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, startNode(t, pgtest.NewDatabase(t), args...))
	})
}

func TestTerritoriesOverREST(t *testing.T) {
	t.Parallel()
	catalog, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	lodi := 0
	for _, m := range catalog.Municipalities() {
		if m.ProvinceCode == "098" {
			lodi++
		}
	}
	stores(t, func(t *testing.T, n *node) {
		r := n.do(t, "GET", "/v1/territories/03", "", nil)
		if r.status != 200 {
			t.Fatalf("GET /v1/territories/03 = %d %s", r.status, r.body)
		}
		if got := decode[territoryJSON](t, r); got.Name != "Lombardia" || got.Level != "region" {
			t.Errorf("territory 03 = %+v, want the region Lombardia", got)
		}

		r = n.do(t, "GET", "/v1/territories?parent=098&level=municipality&page_size=1000", "", nil)
		list := decode[listJSON](t, r)
		if r.status != 200 || len(list.Territories) != lodi || list.TotalSize != lodi || list.NextPageToken != "" {
			t.Fatalf("municipalities of 098 = %d (total %d, status %d), want %d on one page", len(list.Territories), list.TotalSize, r.status, lodi)
		}
		for _, m := range list.Territories {
			if m.ProvinceCode != "098" || m.Level != "municipality" {
				t.Errorf("listed %+v under parent 098", m)
			}
		}

		// Paging through the 113 municipalities of Cremona, 50 at a time.
		seen := map[string]bool{}
		last := ""
		tok := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			r = n.do(t, "GET", "/v1/territories?parent=019&level=municipality&page_size=50&page_token="+url.QueryEscape(tok), "", nil)
			page := decode[listJSON](t, r)
			for _, m := range page.Territories {
				if seen[m.Code] || m.Code <= last {
					t.Fatalf("page repeats or reorders %s", m.Code)
				}
				seen[m.Code], last = true, m.Code
			}
			if tok = page.NextPageToken; tok == "" {
				break
			}
		}
		if len(seen) != 113 {
			t.Errorf("paged through %d municipalities of Cremona, want 113", len(seen))
		}

		r = n.do(t, "GET", "/v1/territories?level=municipality&q=FORLI", "", nil)
		if list := decode[listJSON](t, r); len(list.Territories) == 0 || list.Territories[0].Name != "Forlì" {
			t.Errorf("q=FORLI found %+v, want Forlì first", list.Territories)
		}
	})
}

func TestDistrictsAndErrorsOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		regionAdmin := n.token(t, auth.Principal{Subject: "u1", Organization: "regione-lombardia", Territory: "03", Roles: []string{auth.RoleRegionAdmin}})
		districtAdmin := n.token(t, auth.Principal{Subject: "u2", Organization: "ats-valpadana", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}})
		operator := n.token(t, auth.Principal{Subject: "u3", Organization: "comune-crema", Territory: "019035", Roles: []string{auth.RolePartnerOperator}})
		cremasco := map[string]any{"code": "ambito-cremasco", "name": "Ambito Cremasco", "municipalityCodes": []string{"019035", "019003", "019004"}}

		// Otherwise-other-page token, for the mismatched-token case.
		page := decode[listJSON](t, n.do(t, "GET", "/v1/territories?parent=019&page_size=2", "", nil))

		tests := []struct {
			name       string
			method     string
			path       string
			token      string
			body       any
			wantStatus int
			wantParam  string // an invalid_params name the problem must list (JSON names, as REST clients send them)
		}{
			{"creating a district without a token is 401", "POST", "/v1/territories", "", cremasco, 401, ""},
			{"a malformed token is 401", "POST", "/v1/territories", "not-a-jwt", cremasco, 401, ""},
			{"a desk operator may not create districts: 403", "POST", "/v1/territories", operator, cremasco, 403, ""},
			{"a district admin of Cremona may not group Lodi's municipalities: 403", "POST", "/v1/territories", districtAdmin,
				map[string]any{"code": "ambito-lodi", "name": "Lodi", "municipalityCodes": []string{"098031"}}, 403, ""},
			{"a district admin creates a district inside their province", "POST", "/v1/territories", districtAdmin, cremasco, 201, ""},
			{"the same code again is 409", "POST", "/v1/territories", regionAdmin, cremasco, 409, ""},
			{"a municipality already in a district is refused naming the field", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "ambito-crema-due", "name": "Bis", "municipalityCodes": []string{"019035"}}, 400, "territory.municipalityCodes"},
			{"a malformed municipality code is refused naming the field", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "ambito-x", "name": "X", "municipalityCodes": []string{"19035"}}, 400, "territory.municipalityCodes[0]"},
			{"an unknown municipality is refused naming the field", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "ambito-x", "name": "X", "municipalityCodes": []string{"019999"}}, 400, "territory.municipalityCodes[0]"},
			{"a district across two regions is refused", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "ambito-x", "name": "X", "municipalityCodes": []string{"019021", "006120"}}, 400, "territory.municipalityCodes[1]"},
			{"a numeric code is ISTAT's, not a district's", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "999999", "name": "X", "municipalityCodes": []string{"019021"}}, 400, "territory.code"},
			{"an unknown JSON field is refused", "POST", "/v1/territories", regionAdmin, `{"code":"ambito-y","name":"Y","municipalityCodes":["019021"],"colour":"red"}`, 400, ""},
			{"malformed JSON is refused", "POST", "/v1/territories", regionAdmin, `{"code":`, 400, ""},
			{"a name over 200 characters is refused", "POST", "/v1/territories", regionAdmin,
				map[string]any{"code": "ambito-z", "name": strings.Repeat("n", 201), "municipalityCodes": []string{"019021"}}, 400, "territory.name"},
			{"an unknown territory is 404", "GET", "/v1/territories/ambito-nowhere", "", nil, 404, ""},
			{"an unknown parent is refused naming the field", "GET", "/v1/territories?parent=ambito-nowhere", "", nil, 400, "parent"},
			{"a level outside the list is refused", "GET", "/v1/territories?level=continent", "", nil, 400, "level"},
			{"a page size over 1000 is refused", "GET", "/v1/territories?page_size=5000", "", nil, 400, "pageSize"},
			{"a page token from another query is refused", "GET", "/v1/territories?parent=098&page_token=" + url.QueryEscape(page.NextPageToken), "", nil, 400, "pageToken"},
			{"an unknown route is a 404 problem", "GET", "/v1/nothing-here", "", nil, 404, ""},
		}
		for _, tt := range tests {
			r := n.do(t, tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.wantStatus {
				t.Errorf("%s: status = %d, want %d: %s", tt.name, r.status, tt.wantStatus, r.body)
				continue
			}
			if tt.wantStatus >= 400 {
				if r.problem == nil || r.problem["status"] != float64(tt.wantStatus) || r.problem["title"] == "" {
					t.Errorf("%s: want a problem+json with status %d, got %s %s", tt.name, tt.wantStatus, r.header.Get("Content-Type"), r.body)
				}
				if strings.Contains(string(r.body), "SQL") || strings.Contains(string(r.body), "pgx") {
					t.Errorf("%s: the problem leaks internals: %s", tt.name, r.body)
				}
			}
			if params, _ := r.problem["invalid_params"].([]any); len(params) > 0 {
				seen := map[string]bool{}
				for _, p := range params {
					key := fmt.Sprint(p)
					if seen[key] {
						t.Errorf("%s: invalid_params repeats %v", tt.name, p)
					}
					seen[key] = true
				}
			}
			if tt.wantParam != "" && !hasInvalidParam(r.problem, tt.wantParam) {
				t.Errorf("%s: problem does not name %s: %s", tt.name, tt.wantParam, r.body)
			}
		}

		// The created district reads back and contains its municipalities.
		got := decode[territoryJSON](t, n.do(t, "GET", "/v1/territories/ambito-cremasco", "", nil))
		if got.Level != "district" || got.RegionCode != "03" || got.MunicipalityCount != 3 {
			t.Errorf("district = %+v", got)
		}
		list := decode[listJSON](t, n.do(t, "GET", "/v1/territories?parent=ambito-cremasco", "", nil))
		if len(list.Territories) != 3 {
			t.Errorf("municipalities of the district = %+v, want 3", list.Territories)
		}
		crema := decode[territoryJSON](t, n.do(t, "GET", "/v1/territories/019035", "", nil))
		if len(crema.DistrictCodes) != 1 || crema.DistrictCodes[0] != "ambito-cremasco" {
			t.Errorf("Crema's districts = %v, want [ambito-cremasco]", crema.DistrictCodes)
		}
		districts := decode[listJSON](t, n.do(t, "GET", "/v1/territories?parent=03&level=district", "", nil))
		if len(districts.Territories) != 1 {
			t.Errorf("districts of Lombardy = %+v, want the one created", districts.Territories)
		}
		// Nothing of the refused writes was written.
		all := decode[listJSON](t, n.do(t, "GET", "/v1/territories?level=district", "", nil))
		if all.TotalSize != 1 {
			t.Errorf("districts after refused writes = %d, want 1", all.TotalSize)
		}
	})
}

func hasInvalidParam(problem map[string]any, name string) bool {
	params, _ := problem["invalid_params"].([]any)
	for _, p := range params {
		if m, _ := p.(map[string]any); m["name"] == name {
			return true
		}
	}
	return false
}

func TestEdgeEndpoints(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	for _, path := range []string{"/healthz", "/readyz", "/status", "/metrics", "/openapi.json"} {
		if r := n.do(t, "GET", path, "", nil); r.status != 200 {
			t.Errorf("GET %s = %d %s", path, r.status, r.body)
		}
	}
	// Some traffic, then the gRPC server metrics are exported.
	n.do(t, "GET", "/v1/territories/03", "", nil)
	if r := n.do(t, "GET", "/metrics", "", nil); !strings.Contains(string(r.body), "rpc_server_call_duration") && !strings.Contains(string(r.body), "rpc_server_duration") {
		t.Errorf("/metrics lacks the gRPC server duration histogram")
	}

	r := n.do(t, "GET", "/openapi.json", "", nil)
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("served OpenAPI does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("served OpenAPI is invalid: %v", err)
	}
	if doc.Paths.Find("/v1/territories/{code}") == nil || doc.Components.Schemas["Problem"] == nil {
		t.Errorf("served OpenAPI lacks the territory routes or the Problem schema")
	}

	big := `{"code":"ambito-big","name":"` + strings.Repeat("x", 2<<20) + `"}`
	if r := n.do(t, "POST", "/v1/territories", "", big); r.status != http.StatusRequestEntityTooLarge || r.problem == nil {
		t.Errorf("a 2 MiB body = %d %s, want a 413 problem", r.status, r.header.Get("Content-Type"))
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--cors-origins=https://desk.example.org")
	req, _ := http.NewRequest(http.MethodOptions, n.base+"/v1/territories", nil)
	req.Header.Set("Origin", "https://desk.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://desk.example.org" {
		t.Errorf("preflight from an allowed origin: Allow-Origin = %q", got)
	}
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight from another origin: Allow-Origin = %q, want none", got)
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx := context.Background()

		for _, svc := range []string{"", "ponte.directory.v1.TerritoryService"} {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health of %q = %v, %v; want SERVING", svc, resp.GetStatus(), err)
			}
		}

		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		refl, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var services []string
		for _, s := range refl.GetListServicesResponse().GetService() {
			services = append(services, s.GetName())
		}
		if !strings.Contains(strings.Join(services, ","), "ponte.directory.v1.TerritoryService") {
			t.Errorf("reflection lists %v, want the territory service", services)
		}
		_ = stream.CloseSend()

		client := directoryv1.NewTerritoryServiceClient(conn)
		got, err := client.GetTerritory(ctx, &directoryv1.GetTerritoryRequest{Code: "019035"})
		if err != nil || got.GetName() != "Crema" || got.GetProvinceAbbreviation() != "CR" {
			t.Errorf("GetTerritory(019035) = %v, %v; want Crema", got, err)
		}

		create := &directoryv1.CreateTerritoryRequest{Territory: &directoryv1.Territory{Code: "ambito-g", Name: "G", MunicipalityCodes: []string{"019021"}}}
		if _, err := client.CreateTerritory(ctx, create); status.Code(err) != codes.Unauthenticated {
			t.Errorf("CreateTerritory without a token = %v, want Unauthenticated", err)
		}
		admin := n.token(t, auth.Principal{Subject: "a", Roles: []string{auth.RoleAdmin}})
		authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
		bad := &directoryv1.CreateTerritoryRequest{Territory: &directoryv1.Territory{Code: "ambito-g", Name: "G", MunicipalityCodes: []string{"abc"}}}
		_, err = client.CreateTerritory(authed, bad)
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("CreateTerritory with a bad code = %v, want InvalidArgument", err)
		}
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if len(fields) != 1 || fields[0] != "territory.municipality_codes[0]" {
			t.Errorf("field violations = %v, want territory.municipality_codes[0]", fields)
		}
		if _, err := client.CreateTerritory(authed, create); err != nil {
			t.Errorf("CreateTerritory as admin: %v", err)
		}
	})
}

func TestOneTraceFromEdgeToSQL(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
		// A record list reads the store (territory reads and searches answer from the index).
		r := n.do(t, "GET", "/v1/organizations?pageSize=5", "", nil,
			"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if r.header.Get("X-Trace-Id") != traceID || !strings.Contains(r.header.Get("Traceparent"), traceID) {
			t.Errorf("response trace headers = %q / %q, want the caller's trace %s", r.header.Get("X-Trace-Id"), r.header.Get("Traceparent"), traceID)
		}
		// The edge's server span ends after the response is written: wait for it.
		deadline := time.Now().Add(5 * time.Second)
		var kinds map[string]bool
		for time.Now().Before(deadline) {
			kinds = map[string]bool{}
			for _, s := range n.spans.Ended() {
				if s.SpanContext().TraceID().String() != traceID {
					continue
				}
				scope := s.InstrumentationScope().Name
				switch {
				case strings.Contains(scope, "otelhttp") && s.SpanKind() == trace.SpanKindServer:
					kinds["edge"] = true
				case strings.Contains(scope, "otelgrpc") && s.SpanKind() == trace.SpanKindClient:
					kinds["grpc client"] = true
				case strings.Contains(scope, "otelgrpc") && s.SpanKind() == trace.SpanKindServer:
					kinds["grpc server"] = true
				case strings.Contains(scope, "otelpgx") || strings.Contains(scope, "otelsql"):
					kinds["sql"] = true
					for _, kv := range s.Attributes() {
						if strings.Contains(string(kv.Key), "args") || strings.Contains(string(kv.Key), "parameter") {
							t.Errorf("SQL span records arguments: %s", kv.Key)
						}
					}
				}
			}
			if len(kinds) == 4 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(kinds) != 4 {
			var names []string
			for _, s := range n.spans.Ended() {
				names = append(names, fmt.Sprintf("%s[%s %s]", s.Name(), s.InstrumentationScope().Name, s.SpanContext().TraceID()))
			}
			t.Errorf("spans of the caller's trace cover %v, want edge, grpc client, grpc server and sql; all spans: %v", kinds, names)
		}
	})
}

// TestSplitDeployment runs the directory on one node and the REST edge on another, as a
// district and a region's edge would: the edge forwards the caller's token to the remote
// service, which authenticates it itself.
func TestSplitDeployment(t *testing.T) {
	t.Parallel()
	directoryNode := startNode(t, "", "-target=directory")
	if directoryNode.base != "" {
		t.Fatal("a directory-only node serves REST")
	}
	edge := startNode(t, "", "-target=gateway", "--directory-endpoint="+directoryNode.grpc)

	if r := edge.do(t, "GET", "/v1/territories/019", "", nil); r.status != 200 || decode[territoryJSON](t, r).Name != "Cremona" {
		t.Fatalf("GET through the remote edge = %d %s", r.status, r.body)
	}
	if r := edge.do(t, "GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("edge readyz with a healthy remote = %d %s", r.status, r.body)
	}
	body := map[string]any{"code": "ambito-sona", "name": "Ambito di Sona", "municipalityCodes": []string{"023083"}}
	// Signed with the edge's key, which the directory node does not trust.
	if r := edge.do(t, "POST", "/v1/territories", edge.token(t, auth.Principal{Subject: "x", Roles: []string{auth.RoleAdmin}}), body); r.status != 401 {
		t.Errorf("a token the remote service does not trust = %d, want 401", r.status)
	}
	// Signed with the directory node's key: the edge forwards it and the service accepts it.
	if r := edge.do(t, "POST", "/v1/territories", directoryNode.token(t, auth.Principal{Subject: "x", Roles: []string{auth.RoleAdmin}}), body); r.status != http.StatusCreated {
		t.Errorf("a token the remote service trusts = %d %s, want 201", r.status, r.body)
	}
}

func TestMain(m *testing.M) {
	// The dev key warning and the like go to the test's discarded logger; keep the
	// process environment from choosing an exporter.
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_METRICS_EXPORTER"} {
		_ = os.Unsetenv(k)
	}
	os.Exit(m.Run())
}
