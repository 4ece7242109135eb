package app_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

// sharedDataDir returns a new data directory holding from's development key and
// reporting secret: the nodes of one region trust the same key and pseudonymize alike.
func sharedDataDir(t *testing.T, from string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"dev-signing.key", "reporting-secret"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// seedDistrict registers the ten shared persons with a renewal case each in Crema, and
// three housing cases in Cremona, through the district's REST API.
func seedDistrict(t *testing.T, n *node, district string, extra ...map[string]any) {
	t.Helper()
	n.createDistrict(t, district, "019035", "019036")
	op := n.token(t, auth.Principal{Subject: "op-" + district, Organization: "org-" + district, Roles: []string{auth.RolePartnerOperator}})
	for i := range 10 {
		r := n.do(t, "POST", "/v1/persons", op, map[string]any{"id": fmt.Sprint("shared-", i), "sex": "SEX_MALE", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
		if r.status != http.StatusCreated {
			t.Fatalf("create person = %d %s", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/cases", op, map[string]any{"personId": fmt.Sprint("shared-", i), "municipalityCode": "019035", "districtCode": district, "category": "CATEGORY_RENEWAL"}); r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
	}
	cases := []map[string]any{}
	for range 3 {
		cases = append(cases, map[string]any{"municipalityCode": "019036", "districtCode": district, "category": "CATEGORY_HOUSING"})
	}
	for _, c := range append(cases, extra...) {
		if r := n.do(t, "POST", "/v1/cases", op, c); r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
	}
}

func TestRegionFederatesItsDistrictsAndSuppressesAfterSumming(t *testing.T) {
	t.Parallel()
	federate(t, func(dataDir string, args ...string) *node {
		if dataDir != "" {
			args = append(args, "--data-dir="+dataDir)
		}
		return startNode(t, "", args...)
	})
}

// TestRegionFederatesDistrictProcesses is the federation as deployed: a region node and
// two district nodes, each its own ponte process with its own PostgreSQL database,
// talking over loopback.
func TestRegionFederatesDistrictProcesses(t *testing.T) {
	t.Parallel()
	bin := buildPonte(t)
	federate(t, func(dataDir string, args ...string) *node {
		if dataDir == "" {
			dataDir = t.TempDir()
		}
		n, _ := startProcess(t, bin, dataDir, append([]string{"--database-url=" + pgtest.NewDatabase(t)}, args...)...)
		return n
	})
}

// federate runs the federation scenario on nodes started by start (with a data directory,
// or "" for a new one, and flags): two districts seeded through their REST APIs, and a
// region over them whose figures are the districts' combined, suppressed after summing,
// persons served in both counted once, and marked incomplete when a district stops.
func federate(t *testing.T, start func(dataDir string, args ...string) *node) {
	a := start("")
	b := start(sharedDataDir(t, a.dataDir))
	seedDistrict(t, a, "cremasco")
	seedDistrict(t, b, "cremonese", map[string]any{"municipalityCode": "019035", "districtCode": "cremonese", "category": "CATEGORY_LEGAL_AID"})
	// Consultations: Cremona asks district a and district b, Bagnolo Cremasco district b.
	consult := func(n *node, district string, municipalities ...string) {
		t.Helper()
		op := n.token(t, auth.Principal{Subject: "op-" + district, Organization: "org-" + district, Roles: []string{auth.RolePartnerOperator}})
		r := n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019035", "districtCode": district, "category": "CATEGORY_RESIDENCE_PERMIT"})
		if r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
		id := decode[caseJSON](t, r).ID
		for _, m := range municipalities {
			ev := map[string]any{"consultation": map[string]any{"requesterMunicipalityCode": m, "topicCategory": "CATEGORY_RESIDENCE_PERMIT"}}
			if r := n.do(t, "POST", "/v1/cases/"+id+"/events", op, ev); r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("create consultation = %d %s", r.status, r.body)
			}
		}
	}
	consult(a, "cremasco", "019036")
	consult(b, "cremonese", "019036", "019004")
	// 10 persons + 13 or 14 cases each, and the consultations' case and events.
	waitIngested(t, a, a.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}}), 25)
	waitIngested(t, b, b.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}}), 27)

	region := start(sharedDataDir(t, a.dataDir), "-target=reporting,gateway",
		"--reporting-district=a="+a.grpc+",b="+b.grpc, "--reporting-federation-deadline=3s")
	analyst := region.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})
	year := time.Now().In(time.FixedZone("CET", 3600)).Format("2006")
	base := "?from=" + year + "-01-01&to=" + year + "-12-31&granularity=GRANULARITY_YEAR"
	get := func(t *testing.T, n *node, indicator, params string) answerJSON {
		t.Helper()
		r := n.do(t, "GET", "/v1/indicators/"+indicator+":query"+base+params, analyst, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s%s = %d %s", indicator, params, r.status, r.body)
		}
		return decode[answerJSON](t, r)
	}
	within := func(c cellJSON, want float64) bool {
		return c.Value != nil && *c.Value >= want-3 && *c.Value <= want+3
	}

	// Each district suppresses its three Cremona cases; the region publishes their six.
	for _, d := range []*node{a, b} {
		if c, _ := get(t, d, "cases_opened", "&groupBy=municipality").cell(year, "019036"); c.Status != "CELL_STATUS_PRIMARY" {
			t.Fatalf("a district's three Cremona cases = %+v, want suppressed", c)
		}
	}
	ans := get(t, region, "cases_opened", "&groupBy=municipality")
	if c, _ := ans.cell(year, "019036"); c.Status != "CELL_STATUS_PUBLISHED" || !within(c, 6) {
		t.Fatalf("the region's Cremona = %+v, want 6 published within 3", c)
	}
	if c, _ := ans.cell(year, "019035"); !within(c, 23) {
		t.Fatalf("the region's Crema = %+v, want the districts' 11 + 12 within 3", c)
	}
	if total, _ := ans.cell(year, "_T"); !within(total, 29) {
		t.Fatalf("the region's total = %+v, want the districts' 14 + 15 within 3", total)
	}
	// Suppression holds on the region's output: one legal-aid case in all.
	ans = get(t, region, "cases_opened", "&groupBy=category")
	if c, _ := ans.cell(year, "legal_aid"); c.Status != "CELL_STATUS_PRIMARY" || c.Value != nil {
		t.Fatalf("the region's single legal-aid case = %+v, want suppressed", c)
	}
	if c, _ := ans.cell(year, "housing"); c.Status != "CELL_STATUS_SECONDARY" {
		t.Fatalf("the region's housing cases = %+v, want suppressed as the complement", c)
	}
	// The ten persons served in both districts count once, by their merged sketches.
	if c, _ := get(t, region, "persons_reached", "").cell(year); !within(c, 10) {
		t.Fatalf("persons reached at the region = %+v, want 10 within 3, not 20", c)
	}
	// Authorities are counted exactly, without suppression, and Cremona, advised by both
	// districts, once.
	exactly := func(c cellJSON, want float64) bool {
		return c.Status == "CELL_STATUS_PUBLISHED" && c.Value != nil && *c.Value == want
	}
	if c, _ := get(t, a, "amif_so2_authorities_supported", "").cell(year); !exactly(c, 1) {
		t.Fatalf("authorities supported by district a = %+v, want exactly 1", c)
	}
	ans = get(t, region, "amif_so2_authorities_supported", "&groupBy=municipality")
	if c, _ := ans.cell(year, "_T"); !exactly(c, 2) {
		t.Fatalf("authorities supported at the region = %+v, want exactly 2 (Cremona once): %+v", c, ans)
	}
	if c, _ := ans.cell(year, "019004"); !exactly(c, 1) {
		t.Fatalf("Bagnolo at the region = %+v, want exactly 1, published", c)
	}
	// Only the reporting service principal reads a district's raw aggregates.
	conn, err := grpc.NewClient(a.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := reportingv1.NewReportingServiceClient(conn)
	for _, tt := range []struct {
		name string
		p    auth.Principal
		want codes.Code
	}{
		{"the reporting service principal", auth.ServicePrincipal("reporting"), codes.OK},
		{"another service principal", auth.ServicePrincipal("housing"), codes.PermissionDenied},
		{"a region analyst", auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}}, codes.PermissionDenied},
		{"an admin", auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}}, codes.PermissionDenied},
	} {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+a.token(t, tt.p))
		_, err := client.ExportAggregates(ctx, &reportingv1.ExportAggregatesRequest{Id: "cases_opened", From: year + "-01-01", To: year + "-12-31"})
		if status.Code(err) != tt.want {
			t.Errorf("%s: ExportAggregates = %v, want %v", tt.name, status.Code(err), tt.want)
		}
	}
	if _, err := client.ExportAggregates(t.Context(), &reportingv1.ExportAggregatesRequest{Id: "cases_opened", From: year + "-01-01", To: year + "-12-31"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ExportAggregates without a token = %v, want Unauthenticated", status.Code(err))
	}

	// A district stopped: the answer comes within the deadline, marked incomplete.
	b.stop()
	asked := time.Now()
	r := region.do(t, "GET", "/v1/indicators/cases_opened:query"+base, analyst, nil)
	elapsed := time.Since(asked)
	inc := decode[struct {
		Incomplete bool `json:"incomplete"`
		Missing    []struct{ Node, Reason string }
	}](t, r)
	if r.status != http.StatusOK || !inc.Incomplete || len(inc.Missing) != 1 || inc.Missing[0].Node != "b" || elapsed > 5*time.Second {
		t.Fatalf("with district b stopped = %d %s after %v, want an incomplete answer naming b within the deadline", r.status, r.body, elapsed)
	}
	if c, _ := decode[answerJSON](t, r).cell(year); !within(c, 14) {
		t.Fatalf("the incomplete total = %+v, want district a's 14 within 3", c)
	}
}
