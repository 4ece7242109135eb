package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/territory"
)

func cell(v float64, st reportingv1.CellStatus, codes ...string) *reportingv1.Cell {
	c := &reportingv1.Cell{Codes: codes, Status: st}
	if st == reportingv1.CellStatus_CELL_STATUS_PUBLISHED {
		c.Value = proto.Float64(v)
	}
	return c
}

const (
	pub  = reportingv1.CellStatus_CELL_STATUS_PUBLISHED
	prim = reportingv1.CellStatus_CELL_STATUS_PRIMARY
	sec  = reportingv1.CellStatus_CELL_STATUS_SECONDARY
)

// answerBySex is a small answer with a primary and a secondary suppression.
func answerBySex() *reportingv1.QueryIndicatorResponse {
	return &reportingv1.QueryIndicatorResponse{
		IndicatorId: "cases_opened", Unit: "cases", Columns: []string{"period", "sex"}, Threshold: 5, MaxDeviation: 2,
		Rows: []*reportingv1.Cell{
			cell(12, pub, "2026-01", "F"), cell(0, prim, "2026-01", "M"),
			cell(9, pub, "2026-02", "F"), cell(0, sec, "2026-02", "M"),
		},
		Totals: []*reportingv1.Cell{
			cell(15, pub, "2026-01", "_T"), cell(14, pub, "2026-02", "_T"),
			cell(21, pub, "_T", "F"), cell(8, pub, "_T", "M"), cell(29, pub, "_T", "_T"),
		},
	}
}

func TestLayoutKeepsSuppressedCellsApartFromZeros(t *testing.T) {
	t.Parallel()
	d := layout(answerBySex(), func(code string) string { return "sex " + code })
	if got := strings.Join(d.OverTime.Labels, ","); got != "2026-01,2026-02" {
		t.Fatalf("periods over time %s", got)
	}
	if got := strings.Join(d.ByDim.Labels, ","); got != "sex F,sex M" {
		t.Fatalf("bars %s", got)
	}
	if d.Total == nil || *d.Total.Value != 29 {
		t.Fatalf("grand total %+v", d.Total)
	}
	tests := []struct {
		name, period, code, status string
		value                      float64
	}{
		{"a published cell keeps its value", "2026-01", "F", "published", 12},
		{"a primary suppression has no value", "2026-01", "M", "primary", 0},
		{"a secondary suppression has no value", "2026-02", "M", "secondary", 0},
		{"a cell the answer lacks is empty, not zero", "2026-03", "F", "empty", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := d.Cell(tt.period, tt.code)
			if f.Status != tt.status {
				t.Fatalf("status %s, want %s", f.Status, tt.status)
			}
			if tt.status == "published" && (f.Value == nil || *f.Value != tt.value) {
				t.Fatalf("value %v, want %v", f.Value, tt.value)
			}
			if tt.status != "published" && f.Value != nil {
				t.Fatalf("a %s cell carries value %v", tt.status, *f.Value)
			}
		})
	}
}

// reportingServer answers the dashboard's calls with a fixed answer, remembering the
// token it was sent: it stands for the reporting service at the gRPC boundary, so that
// the dashboard's pages can be tested on their own.
type reportingServer struct {
	reportingv1.UnimplementedReportingServiceServer
	tokens chan string
}

func (s *reportingServer) token(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) == 1 && strings.HasPrefix(v[0], "Bearer ") {
		select {
		case s.tokens <- strings.TrimPrefix(v[0], "Bearer "):
		default:
		}
		return nil
	}
	return status.Error(codes.Unauthenticated, "no token")
}

func (s *reportingServer) ListIndicators(ctx context.Context, _ *reportingv1.ListIndicatorsRequest) (*reportingv1.ListIndicatorsResponse, error) {
	if err := s.token(ctx); err != nil {
		return nil, err
	}
	return &reportingv1.ListIndicatorsResponse{Indicators: []*reportingv1.Indicator{{
		Id: "cases_opened", Title: &reportingv1.LocalizedText{It: "Casi aperti", En: "Cases opened"},
		Definition: &reportingv1.LocalizedText{It: "Numero di casi aperti.", En: "Number of cases opened."},
		Unit:       "cases", Dimensions: []string{"sex", "municipality"},
	}}}, nil
}

func (s *reportingServer) QueryIndicator(ctx context.Context, req *reportingv1.QueryIndicatorRequest) (*reportingv1.QueryIndicatorResponse, error) {
	if err := s.token(ctx); err != nil {
		return nil, err
	}
	return answerBySex(), nil
}

func (s *reportingServer) ExportIndicator(ctx context.Context, req *reportingv1.ExportIndicatorRequest) (*httpbody.HttpBody, error) {
	if err := s.token(ctx); err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: "text/csv; charset=utf-8", Data: []byte("period,sex,value,status\n2026-01,F,12,published\n")}, nil
}

func startObservatory(t *testing.T) (*httptest.Server, *reportingServer) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	rs := &reportingServer{tokens: make(chan string, 16)}
	reportingv1.RegisterReportingServiceServer(srv, rs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///reporting",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pages, err := New(Config{Conn: conn, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	obs, err := pages.NewObservatory(ObservatoryConfig{
		Conn: conn, Logger: log, Catalog: cat, SessionSecret: []byte(strings.Repeat("s", 32)),
		DevSignIn: func(role, terr, org string) (string, time.Duration, error) {
			return "token-for-" + role + "-" + terr, time.Hour, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range ObservatoryRoutes {
		mux.Handle(p, obs)
	}
	mux.Handle("GET /assets/", pages)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, rs
}

// client keeps cookies and does not follow redirects, to see each step.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar := newJar()
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestObservatorySignInAndDashboard(t *testing.T) {
	t.Parallel()
	ts, rs := startObservatory(t)
	c := client(t)

	resp, err := c.Get(ts.URL + "/observatory")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/observatory/signin") {
		t.Fatalf("without a session: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}

	post := func(origin string, form url.Values) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/observatory/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("https://evil.example", url.Values{"role": {"region_analyst"}, "territory": {"03"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site sign-in: %d, want 403", r.StatusCode)
	}
	if r := post(ts.URL, url.Values{"role": {"superuser"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("an unknown role: %d, want 400", r.StatusCode)
	}
	if r := post(ts.URL, url.Values{"role": {"region_analyst"}, "territory": {"03\x00"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("a hostile territory: %d, want 400", r.StatusCode)
	}
	r := post(ts.URL, url.Values{"role": {"region_analyst"}, "territory": {"03"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || strings.Contains(session.Value, "token-for") {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, the token encrypted", session)
	}

	resp, err = c.Get(ts.URL + "/observatory?hl=it&by=sex&from=2026-01-01&to=2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard: %d %s", resp.StatusCode, body)
	}
	if tok := <-rs.tokens; tok != "token-for-region_analyst-03" {
		t.Fatalf("reporting got token %q", tok)
	}
	page := string(body)
	for _, want := range []string{"Casi aperti", "oscurato: troppo poche persone", "oscurato: rivelerebbe un&#39;altra cella", "donne", "Scarica SDMX-CSV", `id="chart-data"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}

	resp, err = c.Get(ts.URL + "/observatory/export?indicator=cases_opened&from=2026-01-01&to=2026-02-28&format=sdmx-csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), ".sdmx.csv") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}

	bad, err := c.Get(ts.URL + "/observatory?from=2026-02-31")
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("an impossible date: %d, want 400", bad.StatusCode)
	}
}
