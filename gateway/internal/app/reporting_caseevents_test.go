package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

// storeRows reads every row a service keeps, as text: its tables of its schema on
// PostgreSQL, its file (with the write-ahead log) on the embedded store.
type storeRows func(t *testing.T, service string) string

// sqliteRows reads a service's embedded store files as they are on disk.
func sqliteRows(n *node) storeRows {
	return func(t *testing.T, service string) string {
		var all []byte
		for _, suffix := range []string{"", "-wal"} {
			raw, err := os.ReadFile(filepath.Join(n.dataDir, service+".db"+suffix))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, raw...)
		}
		if len(all) == 0 {
			t.Fatalf("no embedded store file for %s in %s", service, n.dataDir)
		}
		return string(all)
	}
}

// postgresRows reads every row of every table of a service's schema.
func postgresRows(url string) storeRows {
	return func(t *testing.T, service string) string {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, service)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tables) == 0 {
			t.Fatalf("tables of %s: %v %v", service, tables, err)
		}
		var b strings.Builder
		for _, table := range tables {
			rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT t::text FROM %s.%s t`, pgx.Identifier{service}.Sanitize(), pgx.Identifier{table}.Sanitize()))
			if err != nil {
				t.Fatal(err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(strings.Join(texts, "\n"))
		}
		return b.String()
	}
}

func TestReportingIndicatorsFromCaseEventsDrivenThroughTheAPI(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		n := startNode(t, "")
		testReportingCaseEvents(t, n, sqliteRows(n))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		testReportingCaseEvents(t, startNode(t, url), postgresRows(url))
	})
}

func testReportingCaseEvents(t *testing.T, n *node, rows storeRows) {
	// Free text and names that must stay in cases.
	const marker = "MARKERq7z"
	n.createDistrict(t, "cremasco", "019035", "019004")
	n.createDistrict(t, "cremonese", "019036")
	op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	analyst := n.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})

	event := func(caseID string, ev map[string]any) {
		t.Helper()
		if r := n.do(t, "POST", "/v1/cases/"+caseID+"/events", op, ev); r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Fatalf("create event %v = %d %s", ev, r.status, r.body)
		}
	}
	// Eight persons with a renewal case in Crema. Each case: a civic orientation session,
	// a consultation that Cremona's social services asked on residence permits, a referral
	// to an Italian course sent and then completed, an immigration-office problem, a note.
	var cases []string
	for i := range 8 {
		r := n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": fmt.Sprint(marker, i), "sex": "SEX_FEMALE", "nationality": "MA",
			"birthDate": "1990-01-01", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
		if r.status != http.StatusCreated {
			t.Fatalf("create person = %d %s", r.status, r.body)
		}
		person := decode[map[string]any](t, r)
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"personId": person["id"], "municipalityCode": "019035", "districtCode": "cremasco", "category": "CATEGORY_RENEWAL"})
		if r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
		id := decode[caseJSON](t, r).ID
		cases = append(cases, id)
		event(id, map[string]any{"intervention": map[string]any{"kind": "civic_orientation", "description": marker + " attended with her sister"}})
		event(id, map[string]any{"consultation": map[string]any{"requesterOrganizationId": "org-" + marker, "requesterMunicipalityCode": "019036",
			"topic": marker + " asks whether the permit can be renewed", "minutesSpent": 30, "topicCategory": "CATEGORY_RESIDENCE_PERMIT"}})
		event(id, map[string]any{"referral": map[string]any{"serviceId": "svc-" + marker, "status": "REFERRAL_STATUS_SENT", "taxonomyTermId": "ponte:l2-italian"}})
		event(id, map[string]any{"referral": map[string]any{"serviceId": "svc-" + marker, "status": "REFERRAL_STATUS_COMPLETED", "taxonomyTermId": "ponte:l2-italian"}})
		event(id, map[string]any{"issue": map[string]any{"code": "immigration_office_wait"}})
		event(id, map[string]any{"note": map[string]any{"text": marker + " lives at via Roma 3"}})
	}
	// One person has a second session (still one participant); one case raises the same
	// problem again (still one case); the last case also has a consultation asked by
	// Bagnolo Cremasco (019004), whose authority deletion will take away.
	event(cases[0], map[string]any{"intervention": map[string]any{"kind": "civic_orientation"}})
	event(cases[1], map[string]any{"issue": map[string]any{"code": "immigration_office_wait"}})
	event(cases[7], map[string]any{"consultation": map[string]any{"requesterMunicipalityCode": "019004", "topic": marker, "topicCategory": "CATEGORY_CITIZENSHIP"}})
	// 8 persons, 8 cases, 8×6 + 3 events: 67 entries in the case feed.
	waitIngested(t, n, admin, 67)

	year := time.Now().In(time.FixedZone("CET", 3600)).Format("2006")
	query := func(t *testing.T, indicator, params string) answerJSON {
		t.Helper()
		r := n.do(t, "GET", "/v1/indicators/"+indicator+":query?from="+year+"-01-01&to="+year+"-12-31&granularity=GRANULARITY_YEAR"+params, analyst, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s%s = %d %s", indicator, params, r.status, r.body)
		}
		if strings.Contains(string(r.body), marker) {
			t.Fatalf("%s answer carries free text: %s", indicator, r.body)
		}
		return decode[answerJSON](t, r)
	}
	near := func(c cellJSON, want float64) bool {
		return c.Status == "CELL_STATUS_PUBLISHED" && c.Value != nil && *c.Value >= want-3 && *c.Value <= want+3
	}
	exact := func(c cellJSON, want float64) bool {
		return c.Status == "CELL_STATUS_PUBLISHED" && c.Value != nil && *c.Value == want
	}
	type answers map[string]answerJSON
	check := func(t *testing.T, label string, authorities float64) answers {
		t.Helper()
		got := answers{}
		got["civic"] = query(t, "amif_so2_civic_orientation_participants", "&groupBy=municipality")
		if c, _ := got["civic"].cell(year, "019035"); !near(c, 8) {
			t.Errorf("%s: civic orientation participants in Crema = %+v, want 8 within 3", label, c)
		}
		got["consultations"] = query(t, "consultations", "&groupBy=municipality&groupBy=topic")
		cremona, _ := got["consultations"].cell(year, "019036", "residence_permit")
		if authorities == 2 {
			// Bagnolo's one consultation is suppressed, and Cremona's eight with it: the
			// total of nine would give Bagnolo's away.
			if c, _ := got["consultations"].cell(year, "019004", "citizenship"); c.Status != "CELL_STATUS_PRIMARY" || c.Value != nil {
				t.Errorf("%s: Bagnolo's one consultation = %+v, want suppressed", label, c)
			}
			if cremona.Status != "CELL_STATUS_SECONDARY" {
				t.Errorf("%s: Cremona's consultations = %+v, want suppressed as the complement", label, cremona)
			}
			if c, _ := got["consultations"].cell(year, "_T", "_T"); !near(c, 9) {
				t.Errorf("%s: all consultations = %+v, want 9 within 3", label, c)
			}
		} else if !near(cremona, 8) {
			t.Errorf("%s: consultations from Cremona on residence permits = %+v, want 8 within 3", label, cremona)
		}
		got["authorities"] = query(t, "amif_so2_authorities_supported", "&groupBy=municipality")
		if c, _ := got["authorities"].cell(year, "_T"); !exact(c, authorities) {
			t.Errorf("%s: authorities supported = %+v, want exactly %v: they are not persons", label, c, authorities)
		}
		if c, ok := got["authorities"].cell(year, "019004"); authorities == 2 && (!ok || !exact(c, 1)) {
			t.Errorf("%s: Bagnolo as an authority supported = %+v, want exactly 1, published", label, c)
		}
		got["referrals"] = query(t, "referrals", "&groupBy=taxonomy_term&groupBy=outcome")
		if c, _ := got["referrals"].cell(year, "ponte:l2-italian", "completed"); !near(c, 8) {
			t.Errorf("%s: completed referrals to Italian courses = %+v, want 8 within 3", label, c)
		}
		if c, ok := got["referrals"].cell(year, "ponte:l2-italian", "sent"); ok && (c.Value == nil || *c.Value != 0) {
			t.Errorf("%s: referrals still 'sent' = %+v, want none: each moved to its latest outcome", label, c)
		}
		got["problems"] = query(t, "cross_cutting_problems", "&groupBy=issue")
		if c, _ := got["problems"].cell(year, "immigration_office_wait"); !near(c, 8) {
			t.Errorf("%s: cases raising immigration office waits = %+v, want 8 within 3", label, c)
		}
		return got
	}
	check(t, "as ingested", 2)

	// A deleted case takes its facts away: Bagnolo is no longer an authority supported.
	if r := n.do(t, "DELETE", "/v1/cases/"+cases[7], op, nil); r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("delete case = %d %s", r.status, r.body)
	}
	waitIngested(t, n, admin, 68)
	before := check(t, "after a delete", 1)

	// A rebuild from zero gives the same answers.
	if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", admin, map[string]any{}); r.status != http.StatusOK {
		t.Fatalf("rebuild = %d %s", r.status, r.body)
	}
	after := check(t, "after a rebuild from zero", 1)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("answers changed with the rebuild:\nbefore %+v\nafter  %+v", before, after)
	}

	// No free text reached reporting: not its catalog, status or exports, not its rows.
	for _, path := range []string{"/v1/indicators", "/v1/reporting/ingestion",
		"/v1/indicators/consultations:query?from=" + year + "-01-01&to=" + year + "-12-31&groupBy=municipality&format=sdmx-csv",
		"/v1/indicators/referrals:query?from=" + year + "-01-01&to=" + year + "-12-31&groupBy=taxonomy_term&format=csv"} {
		if r := n.do(t, "GET", path, admin, nil); r.status != http.StatusOK || bytes.Contains(r.body, []byte(marker)) {
			t.Errorf("%s = %d, carries the marker: %v", path, r.status, bytes.Contains(r.body, []byte(marker)))
		}
	}
	if !strings.Contains(rows(t, "cases"), marker) {
		t.Fatal("the marker is not in cases' rows either: the probe of the stores reads nothing")
	}
	if strings.Contains(rows(t, "reporting"), marker) {
		t.Error("a reporting store row carries free text from a case event")
	}
}
